package preview

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/store"
)

func TestDeliveryKeys(t *testing.T) {
	sha := strings.Repeat("a", 40)
	for _, c := range []struct {
		name, event string
		payload     []byte
		want        []string
	}{
		{"pull request", "pull_request", prPayload("synchronize", 7, "topic", sha, false),
			[]string{"pr:acme/shop#7", "branch:acme/shop@topic"}},
		{"deleted branch", "push", pushPayload("topic", strings.Repeat("0", 40), true), []string{"branch:acme/shop@topic"}},
		{"default branch", "push", pushPayload("main", sha, false), []string{"push:acme/shop"}},
		{"other branch", "push", pushPayload("topic", sha, false), []string{"push:acme/shop"}},
		{"ping", "ping", []byte(`{"zen": "Keep it logically awesome.", "hook_id": 1}`), nil},
		{"malformed", "pull_request", []byte(`{"number": "one"}`), nil},
	} {
		got := deliveryKeys(store.Delivery{Event: c.event, Payload: c.payload})
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: keys %q, want %q", c.name, got, c.want)
		}
	}
}

// waitHeld waits until a held deploy to env has started.
func waitHeld(t *testing.T, held <-chan string, env string) {
	t.Helper()
	select {
	case got := <-held:
		if got != env {
			t.Fatalf("a deploy to %s was held, want %s", got, env)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no deploy to %s started", env)
	}
}

func TestDeliveriesOfOtherPullRequestsDoNotWait(t *testing.T) {
	f := newFixture(t, "", nil)
	f.m.cfg.Workers = 2 // the default on a one-core machine is 1
	held, release := f.envs.hold("pr-1")
	t.Cleanup(release)
	f.run(t)
	one, two := f.repo.branch("one", "1"), f.repo.branch("two", "2")
	f.enqueue(t, "a", "pull_request", prPayload("opened", 1, "one", one, false))
	waitHeld(t, held, "pr-1")
	f.enqueue(t, "b", "pull_request", prPayload("opened", 2, "two", two, false))
	if d := f.settled(t, "b"); d.State != store.DeliveryDone {
		t.Fatalf("PR 2's delivery = %+v", d)
	}
	if p, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 2}); !ok || p.State != store.PreviewReady {
		t.Fatalf("PR 2's preview = %+v (found %v), want ready while PR 1's deploy is held", p, ok)
	}
	if p, _ := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 1}); p.State != store.PreviewCreating {
		t.Fatalf("PR 1's preview = %+v, want still creating", p)
	}
	release()
	if d := f.settled(t, "a"); d.State != store.DeliveryDone || d.Attempts != 1 {
		t.Fatalf("PR 1's delivery = %+v", d)
	}
}

func TestDeliveriesOfOnePullRequestKeepTheirOrder(t *testing.T) {
	f := newFixture(t, "", nil)
	// Two workers: a delivery of PR 1 started out of turn would take the
	// second one, and PR 2's would never start while PR 1's deploy is held.
	f.m.cfg.Workers = 2
	held, release := f.envs.hold("pr-1")
	t.Cleanup(release)
	f.run(t)
	first := f.repo.branch("one", "1")
	f.enqueue(t, "a1", "pull_request", prPayload("opened", 1, "one", first, false))
	waitHeld(t, held, "pr-1")
	second := f.repo.branch("one", "1b")
	f.enqueue(t, "a2", "pull_request", prPayload("synchronize", 1, "one", second, false))
	f.enqueue(t, "a3", "pull_request", prPayload("closed", 1, "one", second, true))
	f.enqueue(t, "a4", "push", pushPayload("one", strings.Repeat("0", 40), true))
	// PR 2's delivery came last and passes them all.
	f.enqueue(t, "b", "pull_request", prPayload("opened", 2, "two", f.repo.branch("two", "2"), false))
	if d := f.settled(t, "b"); d.State != store.DeliveryDone {
		t.Fatalf("PR 2's delivery = %+v", d)
	}
	for _, id := range []string{"a2", "a3", "a4"} {
		if d, err := f.st.GetDelivery(context.Background(), id); err != nil || d.State != store.DeliveryQueued || d.Attempts != 0 {
			t.Fatalf("%s = %+v (%v), want queued and untried while PR 1's first delivery runs", id, d, err)
		}
	}
	release()
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		if d := f.settled(t, id); d.State != store.DeliveryDone {
			t.Fatalf("%s = %+v", id, d)
		}
	}
	var shas []string
	deploys, destroyed, _ := f.envs.snapshot()
	for _, d := range deploys {
		if d.Environment == "pr-1" {
			shas = append(shas, d.GitSHA)
		}
	}
	if !slices.Equal(shas, []string{first, second}) || !slices.Contains(destroyed, "shop/pr-1") {
		t.Fatalf("PR 1: deploys of %q, destroyed %q; want %q in that order, then destroyed", shas, destroyed, []string{first, second})
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 1}); ok {
		t.Fatal("PR 1's preview survived its close")
	}
}
