package preview

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/store"
)

func TestChooseSlug(t *testing.T) {
	long := "Feature/ÜBER_long-" + strings.Repeat("y", 82)
	cases := []struct {
		name, branch, id string
		taken            []string
		want             string // "" = any valid label other than the taken ones
	}{
		{"free", "feature/login", "acme/shop#1", nil, "feature-login"},
		{"slugs alike", "feature-login", "acme/shop#2", []string{"feature-login"}, config.SuffixedLabel("feature-login", "acme/shop#2")},
		{"second candidate", "feature-login", "acme/shop#2",
			[]string{"feature-login", config.SuffixedLabel("feature-login", "acme/shop#2")}, config.SuffixedLabel("feature-login", "acme/shop#2#1")},
		{"100-char branch", long, "acme/shop#3", nil, config.BranchSlug(long)},
		{"no usable letters", "日本語", "acme/shop#4", nil, config.SuffixedLabel("", "acme/shop#4")},
	}
	for _, tc := range cases {
		taken := map[string]bool{}
		for _, s := range tc.taken {
			taken[s] = true
		}
		got, err := chooseSlug(tc.branch, tc.id, func(s string) bool { return taken[s] })
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want || !config.IsDNSLabel(got) || taken[got] {
			t.Errorf("%s: chooseSlug = %q, want %q (a free DNS label)", tc.name, got, tc.want)
		}
	}
	if _, err := chooseSlug("x", "id", func(string) bool { return true }); err == nil {
		t.Error("every label taken: want an error")
	}
}

func TestEnvName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		pr   int
		slug string
		want string
	}{{42, "feature", "pr-42"}, {0, "feature", "br-feature"}, {0, long, config.SuffixedLabel("bh-"+long, long)}} {
		got := envName(tc.pr, tc.slug)
		if got != tc.want || !config.IsDNSLabel(got) {
			t.Errorf("envName(%d, %q) = %q, want %q", tc.pr, tc.slug, got, tc.want)
		}
	}
}

func TestSweepPlan(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	p := func(id int64, pr int, state store.PreviewState, expires time.Time) store.Preview {
		return store.Preview{ID: id, Repo: "acme/shop", PR: pr, Branch: "b" + string(rune('0'+id)), State: state, ExpiresAt: expires}
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	previews := []store.Preview{
		p(1, 1, store.PreviewReady, later),      // open, fresh: stays
		p(2, 2, store.PreviewReady, earlier),    // expired
		p(3, 3, store.PreviewReady, later),      // closed without an event
		p(4, 4, store.PreviewDestroying, later), // an interrupted destroy
		p(5, 0, store.PreviewReady, later),      // a branch preview: no PR to check
		p(6, 6, store.PreviewFailed, now),       // expires exactly now
	}
	open := map[string]map[int]bool{"acme/shop": {1: true, 2: true, 4: true, 6: true}}
	var got []int64
	for _, d := range sweepPlan(previews, now, open) {
		for _, x := range previews {
			if keyOf(x) == d.Key {
				got = append(got, x.ID)
			}
		}
	}
	if want := []int64{2, 3, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("sweepPlan destroys %v, want %v", got, want)
	}
	// Without knowing the open pull requests, only TTL and destroys count.
	got = nil
	for _, d := range sweepPlan(previews, now, nil) {
		got = append(got, int64(d.Key.PR))
	}
	if want := []int64{2, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("sweepPlan without PR list destroys PRs %v, want %v", got, want)
	}
}

func TestDecide(t *testing.T) {
	pr := func(action string) github.Event {
		return github.Event{Kind: github.KindPullRequest, Action: action, Repo: "a/b", PR: 1, Branch: "x"}
	}
	push := github.Event{Kind: github.KindPush, Repo: "a/b", Branch: "main", DefaultBranch: "main", SHA: "s"}
	pushOther := push
	pushOther.Branch = "feature"
	deleted := pushOther
	deleted.Deleted = true
	tag := github.Event{Kind: github.KindPush, Repo: "a/b"}
	cases := []struct {
		name    string
		ev      github.Event
		pushEnv string
		want    action
	}{
		{"opened", pr("opened"), "", actUpsert},
		{"reopened", pr("reopened"), "", actUpsert},
		{"synchronize", pr("synchronize"), "", actUpsert},
		{"labeled", pr("labeled"), "", actUpsert},
		{"unlabeled", pr("unlabeled"), "", actUpsert},
		{"closed", pr("closed"), "", actDestroy},
		{"edited", pr("edited"), "", actNone},
		{"push to default", push, "staging", actDeployPush},
		{"push to default without push env", push, "", actNone},
		{"push to another branch", pushOther, "staging", actNone},
		{"branch deleted", deleted, "staging", actDestroyBranch},
		{"tag", tag, "staging", actNone},
		{"ping", github.Event{Kind: github.KindPing}, "staging", actNone},
	}
	for _, tc := range cases {
		if got := decide(tc.ev, tc.pushEnv); got != tc.want {
			t.Errorf("%s: decide = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := backoff(100); got != maxBackoff {
		t.Errorf("backoff(100) = %s, want the cap %s", got, maxBackoff)
	}
}

func TestDiffBranches(t *testing.T) {
	prev := map[string]string{"a": "1", "b": "2", "gone": "3", "main": "9"}
	cur := map[string]string{"a": "1", "b": "22", "new": "4", "main": "10"}
	got := DiffBranches(prev, cur, "main")
	want := []BranchChange{{Branch: "b", SHA: "22"}, {Branch: "gone", Gone: true}, {Branch: "main", Gone: true}, {Branch: "new", SHA: "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffBranches = %+v, want %+v", got, want)
	}
	if got := DiffBranches(map[string]string{"a": "1", "b": "22", "new": "4"}, cur, "main"); len(got) != 0 {
		t.Errorf("no change: %+v", got)
	}
}
