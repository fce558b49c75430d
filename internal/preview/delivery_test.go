package preview

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/store"
)

// run starts the manager's queue worker and sweeper for the test.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.m.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) enqueue(t *testing.T, id, event string, payload []byte) {
	t.Helper()
	if _, err := f.st.EnqueueDelivery(context.Background(), store.Delivery{DeliveryID: id, Event: event, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	f.m.Kick()
}

// settled waits until delivery id is no longer queued and returns it.
func (f *fixture) settled(t *testing.T, id string) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := f.st.GetDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != store.DeliveryQueued {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s still queued after %d attempts: %s", id, d.Attempts, d.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliveriesDrivePreviews(t *testing.T) {
	f := newFixture(t, "", nil)
	sha := f.repo.branch("topic", "t1")
	// Queued before the worker starts: a restart loses nothing accepted.
	f.enqueue(t, "d1", "pull_request", prPayload("opened", 9, "topic", sha, false))
	f.run(t)
	if d := f.settled(t, "d1"); d.State != store.DeliveryDone || d.Attempts != 1 {
		t.Fatalf("d1 = %+v", d)
	}
	k := store.PreviewKey{Repo: "acme/shop", PR: 9}
	if p, ok := f.preview(t, k); !ok || p.State != store.PreviewReady || p.HeadSHA != sha {
		t.Fatalf("after opened: %+v (found %v)", p, ok)
	}
	sha2 := f.repo.branch("topic", "t2")
	f.enqueue(t, "d2", "pull_request", prPayload("synchronize", 9, "topic", sha2, false))
	f.settled(t, "d2")
	if p, _ := f.preview(t, k); p.HeadSHA != sha2 {
		t.Fatalf("after synchronize: head %s, want %s", p.HeadSHA, sha2)
	}
	f.enqueue(t, "d3", "pull_request", prPayload("closed", 9, "topic", sha2, true))
	if d := f.settled(t, "d3"); d.State != store.DeliveryDone {
		t.Fatalf("d3 = %+v", d)
	}
	if _, ok := f.preview(t, k); ok {
		t.Fatal("a merged PR's preview survived")
	}
	deploys, destroyed, live := f.envs.snapshot()
	if len(deploys) != 2 || len(destroyed) != 1 || len(live) != 0 {
		t.Errorf("deploys %d, destroyed %v, live %v", len(deploys), destroyed, live)
	}
}

func TestBadDeliveriesChangeNothing(t *testing.T) {
	f := newFixture(t, "", nil)
	f.run(t)
	sha := f.repo.branch("topic", "t1")
	other := strings.ReplaceAll(string(prPayload("opened", 1, "topic", sha, false)), "acme/shop", "evil/repo")
	for id, d := range map[string]struct {
		event   string
		payload []byte
	}{
		"malformed":      {"pull_request", []byte(`{"action": "opened", "number": "one"}`)},
		"unknown repo":   {"pull_request", []byte(other)},
		"unknown commit": {"pull_request", prPayload("opened", 2, "topic", strings.Repeat("a", 40), false)},
	} {
		f.enqueue(t, id, d.event, d.payload)
		if got := f.settled(t, id); got.State != store.DeliveryFailed || got.Attempts != 1 || got.Error == "" {
			t.Errorf("%s: %+v, want failed once with a reason", id, got)
		}
	}
	f.enqueue(t, "ignored", "issues", []byte(`{"action": "opened"}`))
	if got := f.settled(t, "ignored"); got.State != store.DeliveryDone {
		t.Errorf("an event ferry does not act on: %+v", got)
	}
	if ps, _ := f.st.ListPreviews(context.Background(), store.PreviewFilter{}); len(ps) != 0 {
		t.Errorf("previews = %+v", ps)
	}
	if deploys, _, _ := f.envs.snapshot(); len(deploys) != 0 {
		t.Errorf("deploys = %+v", deploys)
	}
}

func TestOptInLabelGatesPreviews(t *testing.T) {
	f := newFixture(t, "  label: preview", nil)
	f.run(t)
	sha := f.repo.branch("topic", "t1")
	k := store.PreviewKey{Repo: "acme/shop", PR: 3}
	f.enqueue(t, "a", "pull_request", prPayload("opened", 3, "topic", sha, false, "bug"))
	f.settled(t, "a")
	if _, ok := f.preview(t, k); ok {
		t.Fatal("a PR without the opt-in label got a preview")
	}
	f.enqueue(t, "b", "pull_request", prPayload("labeled", 3, "topic", sha, false, "bug", "preview"))
	f.settled(t, "b")
	if _, ok := f.preview(t, k); !ok {
		t.Fatal("labeled: no preview")
	}
	f.enqueue(t, "c", "pull_request", prPayload("unlabeled", 3, "topic", sha, false, "bug"))
	f.settled(t, "c")
	if _, ok := f.preview(t, k); ok {
		t.Fatal("unlabeled: the preview survived")
	}
}

func TestPushesDeployStagingAndDeletedBranchesGo(t *testing.T) {
	f := newFixture(t, "", nil)
	f.run(t)
	yaml := strings.ReplaceAll(definition, "{{extra}}", "")
	yaml = strings.Replace(yaml, "run: mkdir", "run: echo compiling for staging && mkdir", 1)
	f.repo.write(map[string]string{"version": "main-2", "ferry.yaml": yaml})
	main := f.repo.commit("main 2")
	f.repo.git("push", "--quiet", "origin", "main")
	f.enqueue(t, "p1", "push", pushPayload("main", main, false))
	if d := f.settled(t, "p1"); d.State != store.DeliveryDone {
		t.Fatalf("p1 = %+v", d)
	}
	deploys, _, _ := f.envs.snapshot()
	if len(deploys) != 1 || deploys[0].Environment != "staging" || deploys[0].GitSHA != main || deploys[0].Services["web"].Count != 2 {
		t.Fatalf("push to main: deploys %+v, want staging with its overlay", deploys)
	}
	// The build streamed into staging's trace, between its start and end.
	evs, err := f.st.ListEvents(context.Background(), store.EventFilter{App: "shop", Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	var trace []string
	for _, e := range evs {
		trace = append(trace, e.Type+": "+e.Message)
	}
	if want := []string{"build.started", "build.output: [app] compiling for staging", "build.succeeded"}; len(trace) < 3 ||
		!strings.HasPrefix(trace[0], want[0]) || !slices.Contains(trace, want[1]) || !strings.HasPrefix(trace[len(trace)-1], want[2]) {
		t.Fatalf("staging's trace after the push:\n%s\nwant %q first, the build's output, %q last", strings.Join(trace, "\n"), want[0], want[2])
	}
	sha := f.repo.branch("gone", "g")
	f.enqueue(t, "p2", "pull_request", prPayload("opened", 4, "gone", sha, false))
	f.settled(t, "p2")
	f.enqueue(t, "p3", "push", pushPayload("gone", strings.Repeat("0", 40), true))
	f.settled(t, "p3")
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 4}); ok {
		t.Error("the deleted branch's preview survived")
	}
}
