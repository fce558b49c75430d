package router

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

func TestChanges(t *testing.T) {
	var c changes
	hc, wake := c.since(0)
	if hc.Version != 0 || len(hc.Services) != 0 {
		t.Fatalf("zero value: %+v", hc)
	}
	c.note("b")
	c.note("a")
	select {
	case <-wake:
	default:
		t.Fatal("a transition did not wake the waiter")
	}
	hc, _ = c.since(0)
	if hc.Version != 2 || !slices.Equal(hc.Services, []string{"a", "b"}) {
		t.Fatalf("since 0: %+v, want a and b at version 2", hc)
	}
	if hc, _ = c.since(1); !slices.Equal(hc.Services, []string{"a"}) {
		t.Fatalf("since 1: %+v, want a", hc)
	}
	if hc, _ = c.since(2); len(hc.Services) != 0 {
		t.Fatalf("since 2: %+v, want none", hc)
	}
	if hc, _ = c.since(9); !slices.Equal(hc.Services, []string{"a", "b"}) {
		t.Fatalf("since a version this router never had: %+v, want every service", hc)
	}
	_, wake = c.since(2)
	c.end()
	c.end()
	c.note("a") // after end: must not close a closed channel
	select {
	case <-wake:
	default:
		t.Fatal("end did not wake the waiter")
	}
	if _, later := c.since(3); later == nil {
		t.Fatal("no channel after end")
	} else {
		select {
		case <-later:
		default:
			t.Fatal("a wait after end does not end at once")
		}
	}
}

// TestHealthChangesWaits: the router's long poll returns on a health
// transition of a real target, and at once after EndHealthWaits.
func TestHealthChangesWaits(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	b := newBackend(t, "b1")
	hc := fastHealth
	hc.HealthyThreshold = 1
	if err := rt.PutService(api.Service{Name: "web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := rt.HealthChanges(ctx, 0, 0)
	if err := rt.AddTarget("web", "v1", b.target()); err != nil {
		t.Fatal(err)
	}
	got := rt.HealthChanges(ctx, start.Version, time.Minute)
	if ctx.Err() != nil || !slices.Equal(got.Services, []string{"web"}) {
		t.Fatalf("long poll: %+v (ctx %v), want web", got, ctx.Err())
	}
	rt.EndHealthWaits()
	if got := rt.HealthChanges(ctx, got.Version, time.Minute); ctx.Err() != nil || len(got.Services) != 0 {
		t.Fatalf("after EndHealthWaits: %+v (ctx %v), want an empty answer at once", got, ctx.Err())
	}
}

func TestHealthChangesAdmin(t *testing.T) {
	rt, _ := startRouter(t, Options{})
	h := rt.AdminHandler()
	for q, want := range map[string]int{
		"since=0":              http.StatusOK,
		"since=0&wait=10ms":    http.StatusOK,
		"":                     http.StatusBadRequest,
		"since=-1":             http.StatusBadRequest,
		"since=x":              http.StatusBadRequest,
		"since=0&wait=forever": http.StatusBadRequest,
		"since=0&wait=-1s":     http.StatusBadRequest,
		"since=0&wait=6m":      http.StatusBadRequest,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/health/changes?"+q, nil))
		if w.Code != want {
			t.Errorf("?%s: %d %s, want %d", q, w.Code, w.Body, want)
			continue
		}
		if want != http.StatusOK {
			var e ErrorBody
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Errorf("?%s: error body %q does not say what is wrong", q, w.Body)
			}
		}
	}
}
