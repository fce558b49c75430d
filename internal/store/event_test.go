package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestListEventsFilters(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	seed := []Event{
		{App: "shop", Env: "staging", Service: "web", Deployment: 1, Type: "deployment.started"},       // 1
		{App: "shop", Env: "staging", Service: "web", Deployment: 1, Task: "t1", Type: "task.started"}, // 2
		{App: "shop", Env: "production", Service: "web", Deployment: 2, Type: "deployment.started"},    // 3
		{App: "shop", Env: "pr-7", Service: "web", Preview: 7, Type: "preview.ready"},                  // 4
		{App: "shop", Env: "staging", Service: "worker", Task: "t2", Type: "task.failed"},              // 5
		{App: "blog", Env: "staging", Service: "web", Type: "deployment.succeeded"},                    // 6
	}
	for _, e := range seed {
		if _, err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    EventFilter
		want []int64
	}{
		{"all", EventFilter{}, []int64{1, 2, 3, 4, 5, 6}},
		{"service", EventFilter{App: "shop", Env: "staging", Service: "web"}, []int64{1, 2}},
		{"app", EventFilter{App: "shop"}, []int64{1, 2, 3, 4, 5}},
		{"deployment", EventFilter{Deployment: 1}, []int64{1, 2}},
		{"task", EventFilter{Task: "t2"}, []int64{5}},
		{"preview", EventFilter{Preview: 7}, []int64{4}},
		{"type", EventFilter{Type: "deployment.started"}, []int64{1, 3}},
		{"type prefix", EventFilter{Type: "deployment."}, []int64{1, 3, 6}},
		{"since", EventFilter{SinceID: 4}, []int64{5, 6}},
		{"limit oldest", EventFilter{Limit: 2}, []int64{1, 2}},
		{"limit newest", EventFilter{Limit: 2, Newest: true}, []int64{5, 6}},
		{"since and limit", EventFilter{SinceID: 2, Limit: 2}, []int64{3, 4}},
		{"combined", EventFilter{App: "shop", Type: "task.", SinceID: 2}, []int64{5}},
		{"nothing", EventFilter{Task: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := s.ListEvents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range evs {
				got = append(got, e.ID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("ids %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestAppendEventRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("JST", 9*3600))
	in := Event{Time: at, App: "shop", Deployment: 3, Type: "deployment.step", Message: "weight 10%", Fields: json.RawMessage(`{"weight":10}`)}
	out, err := s.AppendEvent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListEvents(ctx, EventFilter{Deployment: 3})
	if err != nil || len(evs) != 1 {
		t.Fatalf("list: %v %v", evs, err)
	}
	got := evs[0]
	if got.ID != out.ID || !got.Time.Equal(at) || got.Time.Location() != time.UTC || got.Message != in.Message ||
		string(got.Fields) != `{"weight":10}` || got.Env != "" || got.Task != "" || got.Preview != 0 {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := s.AppendEvent(ctx, Event{Type: "x", Fields: json.RawMessage(`{oops`)}); err == nil {
		t.Error("malformed fields accepted")
	}
	if _, err := s.AppendEvent(ctx, Event{}); err == nil {
		t.Error("event without type accepted")
	}
}

func TestSubscribeWakesAfterCommitAndCoalesces(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	wake, cancel := s.Subscribe()

	// Several commits before the subscriber reads coalesce into one wake-up,
	// and ListEvents since the last seen id finds all of them.
	for i := range 3 {
		if _, err := s.AppendEvent(ctx, Event{Type: "tick", Message: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitWake(t, wake)
	select {
	case <-wake:
		t.Fatal("wake-ups did not coalesce")
	default:
	}
	evs, err := s.ListEvents(ctx, EventFilter{SinceID: 0})
	if err != nil || len(evs) != 3 {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	last := evs[2].ID

	// A write transaction without events does not wake; one with an event
	// wakes only when it commits.
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
		t.Fatal("woken by a transaction without events")
	default:
	}
	go func() {
		_ = s.Tx(ctx, func(tx *Tx) error {
			_, err := tx.AppendEvent(ctx, Event{Type: "follow"})
			return err
		})
	}()
	waitWake(t, wake)
	evs, err = s.ListEvents(ctx, EventFilter{SinceID: last})
	if err != nil || len(evs) != 1 || evs[0].Type != "follow" {
		t.Fatalf("events since %d: %+v %v", last, evs, err)
	}

	cancel()
	if _, ok := <-wake; ok {
		t.Fatal("channel open after cancel")
	}
	cancel() // idempotent
}

func TestCloseClosesSubscriptions(t *testing.T) {
	s := openTemp(t)
	wake, cancel := s.Subscribe()
	defer cancel()
	s.Close()
	select {
	case _, ok := <-wake:
		if ok {
			t.Fatal("received a wake-up instead of close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription not closed by Close")
	}
}

func waitWake(t *testing.T, wake <-chan struct{}) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up within 5s")
	}
}
