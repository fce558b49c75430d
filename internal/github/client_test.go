package github_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/github/githubtest"
)

func TestClientReportsAPreview(t *testing.T) {
	gh := githubtest.New(t, "tok")
	c, err := github.NewClient(gh.URL, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const repo, sha = "acme/shop", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	id, err := c.CreateDeployment(ctx, repo, sha, "pr-2", "ferry preview")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ state, env, log string }{
		{github.StateInProgress, "", ""}, {github.StateSuccess, "http://changes.localhost:8080", ""},
		{github.StateFailure, "", "http://ferry/log"}, {github.StateInactive, "", ""},
	} {
		if err := c.SetDeploymentStatus(ctx, repo, id, s.state, s.env, s.log); err != nil {
			t.Fatal(err)
		}
	}
	ds := gh.Deployments()
	if len(ds) != 1 || ds[0].Ref != sha || ds[0].Environment != "pr-2" || !ds[0].Transient {
		t.Fatalf("deployments = %+v", ds)
	}
	want := []githubtest.Status{{State: "in_progress"}, {State: "success", EnvironmentURL: "http://changes.localhost:8080"},
		{State: "failure", LogURL: "http://ferry/log"}, {State: "inactive"}}
	if len(ds[0].Statuses) != len(want) {
		t.Fatalf("statuses = %+v", ds[0].Statuses)
	}
	for i := range want {
		if ds[0].Statuses[i] != want[i] {
			t.Errorf("status %d = %+v, want %+v", i, ds[0].Statuses[i], want[i])
		}
	}
	if err := c.SetDeploymentStatus(ctx, repo, id, "bogus", "", ""); err == nil {
		t.Error("GitHub refuses an unknown state; the client must say so")
	}
}

func TestClientKeepsOneComment(t *testing.T) {
	gh := githubtest.New(t, "tok")
	c, _ := github.NewClient(gh.URL, "tok", nil)
	ctx := context.Background()
	id, err := c.UpsertComment(ctx, "acme/shop", 7, 0, "building")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.UpsertComment(ctx, "acme/shop", 7, id, "live")
	if err != nil || id2 != id {
		t.Fatalf("edit: id %d, err %v; want the same comment %d", id2, err, id)
	}
	if cs := gh.Comments("acme/shop", 7); len(cs) != 1 || cs[0].Body != "live" || cs[0].Edits != 1 {
		t.Fatalf("comments = %+v, want one edited comment", cs)
	}
	gh.DeleteComment(id) // a user deleted it: a new one is made
	id3, err := c.UpsertComment(ctx, "acme/shop", 7, id, "again")
	if err != nil || id3 == id {
		t.Fatalf("after deletion: id %d, err %v", id3, err)
	}
	if cs := gh.Comments("acme/shop", 7); len(cs) != 1 || cs[0].Body != "again" {
		t.Fatalf("comments = %+v", cs)
	}
}

func TestClientOpenPullsFollowsPages(t *testing.T) {
	gh := githubtest.New(t, "tok")
	var nums []int
	for i := 1; i <= 230; i++ {
		nums = append(nums, i)
	}
	gh.SetOpen("acme/shop", nums...)
	c, _ := github.NewClient(gh.URL, "tok", nil)
	got, err := c.OpenPulls(context.Background(), "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 230 || got[0] != 1 || got[229] != 230 {
		t.Fatalf("OpenPulls = %d numbers, want 230 over three pages", len(got))
	}
}

func TestClientErrors(t *testing.T) {
	gh := githubtest.New(t, "tok")
	bad, _ := github.NewClient(gh.URL, "wrong", nil)
	if _, err := bad.OpenPulls(context.Background(), "acme/shop"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad token: %v", err)
	}
	c, _ := github.NewClient(gh.URL, "tok", nil)
	if _, err := c.CreateDeployment(context.Background(), "not-a-repo", "x", "pr-1", ""); err == nil || !strings.Contains(err.Error(), "owner/name") {
		t.Errorf("bad repo: %v", err)
	}
	if _, err := github.NewClient("ftp://x", "tok", nil); err == nil {
		t.Error("a non-http API URL must be refused")
	}
}
