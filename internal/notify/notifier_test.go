package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	secret = "s3cr3t-hmac-key"
	token  = "T0K3N-in-path" // webhook URLs carry credentials in their path
)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a webhook endpoint that records every request and answers with
// respond(n) for the n-th one (0-based).
type receiver struct {
	*httptest.Server
	respond func(n int, w http.ResponseWriter)
	got     chan hit

	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{respond: respond, got: make(chan hit, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hit{header: req.Header.Clone(), body: body, at: time.Now()}
		r.mu.Lock()
		n := len(r.hits)
		r.hits = append(r.hits, h)
		r.mu.Unlock()
		r.got <- h
		if r.respond != nil {
			r.respond(n, w)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) url() string { return r.URL + "/hooks/" + token }

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// next waits for the receiver's next request.
func (r *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-r.got:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the receiver within 10s")
		return hit{}
	}
}

// logs is a logger writing into a buffer, read once the notifier is closed.
func logs() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func closeNotifier(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func assertNoSecrets(t *testing.T, log string) {
	t.Helper()
	if strings.Contains(log, secret) || strings.Contains(log, token) {
		t.Fatalf("log leaks the secret or the URL's token:\n%s", log)
	}
}

func event(name string) Event {
	return Event{Event: name, App: "shop", Environment: "production", Service: "web", Deployment: 7,
		FromRevision: 3, ToRevision: 4, State: name, Reason: "because"}
}

func TestEveryEventDeliveredSigned(t *testing.T) {
	rcv := newReceiver(t, nil)
	log, buf := logs()
	n := New(Options{Logger: log})
	tgt := []Target{{URL: rcv.url(), Secret: secret}}
	for _, e := range Events {
		n.Send(tgt, event(e))
	}
	closeNotifier(t, n)

	hits := rcv.all()
	if len(hits) != len(Events) {
		t.Fatalf("receiver got %d requests, want %d", len(hits), len(Events))
	}
	ids := map[string]bool{}
	for i, h := range hits {
		if !Verify(secret, h.body, h.header.Get(SignatureHeader)) {
			t.Errorf("request %d: signature %q does not verify", i, h.header.Get(SignatureHeader))
		}
		var ev Event
		if err := json.Unmarshal(h.body, &ev); err != nil {
			t.Fatalf("request %d: body %s: %v", i, h.body, err)
		}
		// Per endpoint, events arrive in the order they were sent.
		if ev.Event != Events[i] || h.header.Get("X-Ferry-Event") != Events[i] {
			t.Errorf("request %d: event %q (header %q), want %q", i, ev.Event, h.header.Get("X-Ferry-Event"), Events[i])
		}
		if ev.App != "shop" || ev.Environment != "production" || ev.Service != "web" || ev.Deployment != 7 ||
			ev.FromRevision != 3 || ev.ToRevision != 4 || ev.State != Events[i] || ev.Reason != "because" || ev.Time.IsZero() {
			t.Errorf("request %d: body fields wrong: %+v", i, ev)
		}
		if ev.Text != event(Events[i]).Summary() {
			t.Errorf("request %d: text %q, want the summary", i, ev.Text)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, ct)
		}
		ids[h.header.Get("X-Ferry-Delivery")] = true
	}
	if len(ids) != len(Events) || ids[""] {
		t.Errorf("delivery ids not unique per event: %v", ids)
	}
	assertNoSecrets(t, buf.String())
}

func TestForgedSignatureFailsVerify(t *testing.T) {
	rcv := newReceiver(t, nil)
	n := New(Options{Logger: slog.New(slog.DiscardHandler)})
	n.Send([]Target{{URL: rcv.url(), Secret: secret}}, event(EventSucceeded))
	h := rcv.next(t)
	closeNotifier(t, n)
	sig := h.header.Get(SignatureHeader)
	if !Verify(secret, h.body, sig) {
		t.Fatal("genuine signature does not verify")
	}
	forged := bytes.Replace(h.body, []byte(`"succeeded"`), []byte(`"failed"`), 1)
	if Verify(secret, forged, sig) {
		t.Fatal("a tampered body verified with the original signature")
	}
	if Verify(secret, forged, Sign("attacker-key", forged)) {
		t.Fatal("a body signed with another key verified")
	}
}

func TestNoSecretNoSignature(t *testing.T) {
	rcv := newReceiver(t, nil)
	n := New(Options{Logger: slog.New(slog.DiscardHandler)})
	n.Send([]Target{{URL: rcv.url()}}, event(EventStarted))
	closeNotifier(t, n)
	if h := rcv.all(); len(h) != 1 || h[0].header.Get(SignatureHeader) != "" {
		t.Fatalf("want one unsigned request, got %d (signature %q)", len(h), h[0].header.Get(SignatureHeader))
	}
}

func TestRetriedUntilSuccessWithSameDeliveryID(t *testing.T) {
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n < 2 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	log, buf := logs()
	n := New(Options{Logger: log, BaseDelay: time.Millisecond})
	n.Send([]Target{{URL: rcv.url(), Secret: secret}}, event(EventFailed))
	closeNotifier(t, n)

	hits := rcv.all()
	if len(hits) != 3 {
		t.Fatalf("receiver got %d attempts, want exactly 3", len(hits))
	}
	id := hits[0].header.Get("X-Ferry-Delivery")
	for i, h := range hits {
		if got := h.header.Get("X-Ferry-Delivery"); got != id || got == "" {
			t.Errorf("attempt %d: delivery id %q, want %q on every attempt", i+1, got, id)
		}
		if !Verify(secret, h.body, h.header.Get(SignatureHeader)) {
			t.Errorf("attempt %d: signature does not verify", i+1)
		}
	}
	// Backoff doubles: the second wait is at least twice BaseDelay.
	if gap := hits[2].at.Sub(hits[1].at); gap < 2*time.Millisecond {
		t.Errorf("second retry after %s, want at least 2ms", gap)
	}
	if !strings.Contains(buf.String(), "notification delivered") {
		t.Errorf("no delivery logged:\n%s", buf)
	}
	assertNoSecrets(t, buf.String())
}

func TestClientErrorsNotRetried(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone} {
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(code) })
		log, buf := logs()
		n := New(Options{Logger: log, BaseDelay: time.Millisecond})
		n.Send([]Target{{URL: rcv.url(), Secret: secret}}, event(EventSucceeded))
		closeNotifier(t, n)
		if got := len(rcv.all()); got != 1 {
			t.Errorf("HTTP %d: %d attempts, want 1", code, got)
		}
		if !strings.Contains(buf.String(), "notification not delivered") {
			t.Errorf("HTTP %d: the failure is not logged:\n%s", code, buf)
		}
	}
}

func TestAttemptsBounded(t *testing.T) {
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	n := New(Options{Logger: slog.New(slog.DiscardHandler), MaxAttempts: 4, BaseDelay: time.Millisecond})
	n.Send([]Target{{URL: rcv.url()}}, event(EventFailed))
	closeNotifier(t, n)
	if got := len(rcv.all()); got != 4 {
		t.Fatalf("%d attempts, want MaxAttempts=4", got)
	}
}

func TestTotalTimeBounded(t *testing.T) {
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	// Attempts at 0, 20ms, 60ms; the next wait (80ms) would end past 100ms.
	n := New(Options{Logger: slog.New(slog.DiscardHandler), MaxAttempts: 100, BaseDelay: 20 * time.Millisecond,
		MaxElapsed: 100 * time.Millisecond})
	n.Send([]Target{{URL: rcv.url()}}, event(EventFailed))
	closeNotifier(t, n)
	if got := len(rcv.all()); got < 2 || got > 3 {
		t.Fatalf("%d attempts, want 2 or 3 within MaxElapsed", got)
	}
}

func TestNetworkErrorsRetried(t *testing.T) {
	// A port that was just closed: every attempt is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/hooks/" + token
	l.Close()
	log, buf := logs()
	n := New(Options{Logger: log, MaxAttempts: 3, BaseDelay: time.Millisecond})
	n.Send([]Target{{URL: url, Secret: secret}}, event(EventFailed))
	closeNotifier(t, n)
	out := buf.String()
	if c := strings.Count(out, "retrying"); c != 2 {
		t.Errorf("%d retries logged, want 2:\n%s", c, out)
	}
	if !strings.Contains(out, "attempts=3") {
		t.Errorf("giving up after 3 attempts is not logged:\n%s", out)
	}
	assertNoSecrets(t, out)
}

func TestRetryAfterHonoured(t *testing.T) {
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	n := New(Options{Logger: slog.New(slog.DiscardHandler), BaseDelay: time.Millisecond})
	n.Send([]Target{{URL: rcv.url()}}, event(EventStep))
	first, second := rcv.next(t), rcv.next(t)
	closeNotifier(t, n)
	if gap := second.at.Sub(first.at); gap < time.Second {
		t.Fatalf("retried %s after a 429 with Retry-After: 1, want at least 1s", gap)
	}
	if first.header.Get("X-Ferry-Delivery") != second.header.Get("X-Ferry-Delivery") {
		t.Fatal("the retry has another delivery id")
	}
}

func TestEventFilterPerEndpoint(t *testing.T) {
	all, some := newReceiver(t, nil), newReceiver(t, nil)
	n := New(Options{Logger: slog.New(slog.DiscardHandler)})
	tgts := []Target{{URL: all.url()}, {URL: some.url(), Events: []string{"succeeded", "canceled"}}}
	for _, e := range Events {
		n.Send(tgts, event(e))
	}
	closeNotifier(t, n)
	if got := len(all.all()); got != len(Events) {
		t.Errorf("unfiltered endpoint got %d events, want %d", got, len(Events))
	}
	var got []string
	for _, h := range some.all() {
		got = append(got, h.header.Get("X-Ferry-Event"))
	}
	if !slices.Equal(got, []string{EventSucceeded, EventAborted}) {
		t.Errorf("filtered endpoint got %v, want [succeeded aborted]", got)
	}
}

func TestQueueOverflowDropsOldestWithoutBlocking(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			<-release
		}
	})
	log, buf := logs()
	n := New(Options{Logger: log, QueueSize: 2})
	tgt := []Target{{URL: rcv.url(), Secret: secret}}
	n.Send(tgt, event(EventStarted))
	rcv.next(t) // "started" is in flight and held: the queue is free

	sent := make(chan struct{})
	go func() {
		for _, e := range []string{EventStep, EventPaused, EventSucceeded} {
			n.Send(tgt, event(e))
		}
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("Send blocked on a stuck endpoint")
	}
	close(release)
	closeNotifier(t, n)

	var got []string
	for _, h := range rcv.all() {
		got = append(got, h.header.Get("X-Ferry-Event"))
	}
	if want := []string{EventStarted, EventPaused, EventSucceeded}; !slices.Equal(got, want) {
		t.Fatalf("receiver got %v, want %v (the oldest queued, step, dropped)", got, want)
	}
	out := buf.String()
	if !strings.Contains(out, "endpoint queue full") || !strings.Contains(out, "event=step") {
		t.Errorf("the drop of step is not logged:\n%s", out)
	}
	assertNoSecrets(t, out)
}

func TestSlowEndpointDelaysNoOther(t *testing.T) {
	release := make(chan struct{})
	slow := newReceiver(t, func(int, http.ResponseWriter) { <-release })
	fast := newReceiver(t, nil)
	n := New(Options{Logger: slog.New(slog.DiscardHandler)})
	n.Send([]Target{{URL: slow.url()}, {URL: fast.url()}}, event(EventStarted))
	slow.next(t)
	fast.next(t) // would time out if the fast endpoint waited for the slow one
	close(release)
	closeNotifier(t, n)
}

func TestCloseGivesUpAtContextEnd(t *testing.T) {
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	log, buf := logs()
	n := New(Options{Logger: log, BaseDelay: time.Hour})
	n.Send([]Target{{URL: rcv.url()}}, event(EventFailed))
	rcv.next(t) // first attempt failed; the retry waits an hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(buf.String(), "notification abandoned") {
		t.Errorf("abandoning is not logged:\n%s", buf)
	}
	// Closed: further events are dropped, not sent and not panicking.
	n.Send([]Target{{URL: rcv.url()}}, event(EventSucceeded))
	if got := len(rcv.all()); got != 1 {
		t.Fatalf("%d requests after Close, want only the first attempt", got)
	}
}

func TestInvalidURLNotRetried(t *testing.T) {
	log, buf := logs()
	n := New(Options{Logger: log, BaseDelay: time.Millisecond})
	n.Send([]Target{{URL: "http://bad host/" + token, Secret: secret}}, event(EventFailed))
	closeNotifier(t, n)
	out := buf.String()
	if strings.Contains(out, "retrying") || !strings.Contains(out, "invalid endpoint URL") {
		t.Errorf("want one logged failure naming the invalid URL and no retry:\n%s", out)
	}
	assertNoSecrets(t, out)
}
