package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Options tune a Notifier; the zero value works.
type Options struct {
	Logger *slog.Logger // nil: slog.Default()
	Client *http.Client // nil: a client with a 10s timeout per attempt
	// MaxAttempts bounds the attempts of one delivery; 0: 5.
	MaxAttempts int
	// BaseDelay is the wait before the first retry, doubled for each
	// further one; 0: 1s.
	BaseDelay time.Duration
	// MaxDelay caps one backoff wait (a longer Retry-After is still
	// honoured); 0: 30s.
	MaxDelay time.Duration
	// MaxElapsed bounds one delivery from its first attempt; 0: 5m.
	MaxElapsed time.Duration
	// QueueSize bounds the deliveries waiting per endpoint; 0: 100.
	QueueSize int
}

// Notifier posts events to webhook endpoints in the background, one queue
// and at most one sender goroutine per endpoint URL, so that events reach an
// endpoint in order and a slow endpoint delays no other.
type Notifier struct {
	o      Options
	log    *slog.Logger
	ctx    context.Context // cancelled when Close gives up flushing
	cancel context.CancelFunc
	wg     sync.WaitGroup // running senders

	mu        sync.Mutex
	closed    bool
	endpoints map[string]*queue // by URL
	busy      map[string]bool   // URLs with a running sender
}

// New returns a Notifier; Close it to flush what is queued.
func New(o Options) *Notifier {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.MaxElapsed <= 0 {
		o.MaxElapsed = 5 * time.Minute
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 100
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{o: o, log: o.Logger, ctx: ctx, cancel: cancel,
		endpoints: map[string]*queue{}, busy: map[string]bool{}}
}

// Send queues ev for every target whose filter wants it and returns at once.
// Each (event, target) pair gets its own delivery id. ev.Time defaults to
// now and ev.Text to ev.Summary().
func (n *Notifier) Send(targets []Target, ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if ev.Text == "" {
		ev.Text = ev.Summary()
	}
	body, err := json.Marshal(ev)
	if err != nil { // an Event always marshals; kept so a future field cannot panic here
		n.log.Error("notification not sent", "event", ev.Event, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range targets {
		if !t.Wants(ev.Event) {
			continue
		}
		if n.closed {
			n.log.Warn("notification dropped: notifier closed", "event", ev.Event, "endpoint", redact(t.URL))
			continue
		}
		q := n.endpoints[t.URL]
		if q == nil {
			q = &queue{max: n.o.QueueSize}
			n.endpoints[t.URL] = q
		}
		if old, dropped := q.push(job{target: t, event: ev.Event, delivery: rand.Text(), body: body}); dropped {
			n.log.Warn("notification dropped: endpoint queue full", "event", old.event, "delivery", old.delivery,
				"endpoint", redact(t.URL), "queue", n.o.QueueSize)
		}
		if !n.busy[t.URL] {
			n.busy[t.URL] = true
			n.wg.Add(1)
			go n.drain(t.URL, q)
		}
	}
}

// Close stops taking events and waits until every queued one is delivered or
// given up. If ctx ends first, in-flight deliveries are abandoned and the
// rest dropped; Close then returns ctx's error.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

// drain sends url's queued jobs in order until the queue is empty.
func (n *Notifier) drain(url string, q *queue) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		j, ok := q.pop()
		if !ok {
			delete(n.busy, url)
			delete(n.endpoints, url)
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		n.deliver(j)
	}
}

// deliver makes the attempts of one job.
func (n *Notifier) deliver(j job) {
	start := time.Now()
	deadline := start.Add(n.o.MaxElapsed)
	log := n.log.With("event", j.event, "delivery", j.delivery, "endpoint", redact(j.target.URL))
	for attempt := 1; ; attempt++ {
		r := n.attempt(j)
		if r.err == nil && r.status >= 200 && r.status < 300 {
			log.Debug("notification delivered", "attempt", attempt, "status", r.status)
			return
		}
		wait, again := plan(r, attempt, n.o.MaxAttempts, n.o.BaseDelay, n.o.MaxDelay, time.Now(), deadline)
		if n.ctx.Err() != nil {
			log.Warn("notification abandoned: notifier closed", "attempt", attempt)
			return
		}
		if !again {
			log.Warn("notification not delivered", "attempts", attempt, "status", r.status, "err", r.err)
			return
		}
		log.Info("notification failed, retrying", "attempt", attempt, "status", r.status, "err", r.err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			log.Warn("notification abandoned: notifier closed", "attempt", attempt)
			return
		}
	}
}

// attempt posts the job once.
func (n *Notifier) attempt(j job) result {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, j.target.URL, bytes.NewReader(j.body))
	if err != nil {
		return result{final: true, err: errors.New("invalid endpoint URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-notify")
	req.Header.Set("X-Ferry-Event", j.event)
	req.Header.Set("X-Ferry-Delivery", j.delivery)
	if j.target.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(j.target.Secret, j.body))
	}
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return result{err: cleanErr(err)}
	}
	// Drain a little so the connection can be reused; the body is not used.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
}
