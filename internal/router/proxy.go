package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync/atomic"
	"time"
)

// maxAttempts bounds the targets one request may try.
const maxAttempts = 4

var (
	errNoTarget     = errors.New("no healthy target")
	errBodyTooLarge = errors.New("request body too large")
)

type attemptKey struct{}

// attempt is one proxied request's journey: the service and group chosen,
// the targets tried, the one that answered.
type attempt struct {
	view   *serviceView
	gv     *groupView
	target *target
	tried  [maxAttempts]*target
	n      int
	body   *limitedBody
	status int // upstream status, for upgrades the recorder never sees
	// host and path look the service up again when the chosen group
	// emptied under the request (its last target drained meanwhile).
	host, path string
	refreshed  bool
}

// regroup moves the attempt to the heaviest usable group of the service's
// current view; false when there is none.
func (a *attempt) regroup(t *table) bool {
	if a.refreshed {
		return false
	}
	a.refreshed = true
	v := t.lookup(a.host, a.path)
	if v == nil {
		return false
	}
	gi := v.fallback()
	if gi < 0 {
		return false
	}
	a.view, a.gv = v, &v.groups[gi]
	return true
}

// ServeHTTP routes and proxies one request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	host := normalizeHost(r.Host)
	v := rt.table.Load().lookup(host, r.URL.Path)
	if v == nil {
		refuse(w, r, http.StatusNotFound, fmt.Sprintf("ferry: no service is routed at %s%s", host, r.URL.Path))
		return
	}
	if r.ContentLength > rt.opts.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("ferry: request body of %d bytes exceeds the limit of %d", r.ContentLength, rt.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
		rt.record(v, nil, start, http.StatusRequestEntityTooLarge)
		return
	}
	gi, setSticky := v.pickGroup(stdHeaders(r.Header), host, rand.IntN)
	for gi < 0 {
		nv := rt.awaitRestored(r.Context().Done(), v, host, r.URL.Path)
		if nv == nil {
			break
		}
		v = nv
		gi, setSticky = v.pickGroup(stdHeaders(r.Header), host, rand.IntN)
	}
	if gi < 0 {
		refuse(w, r, http.StatusServiceUnavailable, fmt.Sprintf("ferry: service %s has no healthy target", v.name))
		rt.record(v, nil, start, http.StatusServiceUnavailable)
		return
	}
	gv := &v.groups[gi]
	if setSticky {
		w.Header().Add("Set-Cookie", stickyCookie+"="+gv.g.name+"; Path=/; HttpOnly; SameSite=Lax")
	}
	a := &attempt{view: v, gv: gv, host: host, path: r.URL.Path}
	rec := &recorder{ResponseWriter: w, writeTimeout: rt.opts.WriteTimeout}
	rec.dl, _ = w.(deadliner)
	if r.Body != nil && r.Body != http.NoBody {
		a.body = &limitedBody{rc: r.Body, max: rt.opts.MaxBodyBytes}
		if r.Header.Get("Upgrade") == "" && rec.dl != nil {
			rec.dl.SetReadDeadline(start.Add(rt.opts.ReadTimeout))
			a.body.clear = rec.dl
		}
		r.Body = a.body
	}
	v.svc.metrics.inflight.Add(1)
	gv.g.metrics.inflight.Add(1)
	rt.proxy.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
	v.svc.metrics.inflight.Add(-1)
	gv.g.metrics.inflight.Add(-1)
	// A body not read to its end keeps its read deadline: net/http then
	// discards the rest (to reuse the connection) within ReadTimeout, not
	// for as long as a slow client cares to trickle it.
	if a.target != nil {
		a.target.release()
	}
	code := rec.status
	if code == 0 {
		code = a.status
	}
	rt.record(v, gv, start, code)
	if rt.opts.AccessLog {
		addr := ""
		if a.target != nil {
			addr = a.target.addr
		}
		rt.log.Info("request", "method", r.Method, "host", host, "path", r.URL.Path, "status", code,
			"duration", time.Since(start), "service", v.name, "group", gv.g.name, "target", addr,
			"request_id", r.Header.Get("X-Request-Id"), "remote", r.RemoteAddr)
	}
}

func (rt *Router) record(v *serviceView, gv *groupView, start time.Time, code int) {
	now := time.Now()
	d := now.Sub(start)
	v.svc.metrics.record(now, code, d)
	if gv != nil {
		gv.g.metrics.record(now, code, d)
	}
}

func (rt *Router) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.Host = pr.In.Host // the target sees the host the client asked for
			if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
			if pr.Out.Header.Get("X-Request-Id") == "" {
				pr.Out.Header.Set("X-Request-Id", newRequestID())
			}
		},
		Transport:    upstream{rt},
		ErrorHandler: rt.proxyError,
		BufferPool:   bufferPool{},
	}
}

func newRequestID() string {
	return strconv.FormatUint(rand.Uint64(), 16)
}

// upstream is the proxy's RoundTripper: it picks a target in the chosen
// group and, when the connection fails before anything was sent, tries
// another one.
type upstream struct{ rt *Router }

func (u upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	a := req.Context().Value(attemptKey{}).(*attempt)
	threshold := a.view.svc.health.Load().unhealthy
	var lastErr error
	for a.n < maxAttempts {
		t := a.gv.pickTarget(a.view.lor, a.tried[:a.n])
		if t == nil {
			if a.regroup(u.rt.table.Load()) {
				continue
			}
			break
		}
		a.tried[a.n] = t
		a.n++
		if !t.acquire() {
			continue
		}
		// req is the ReverseProxy's private copy; only its host changes per try.
		req.URL.Host = t.addr
		resp, err := t.transport.RoundTrip(req)
		if err == nil {
			if t.connFails.Load() != 0 {
				t.connFails.Store(0)
			}
			a.target, a.status = t, resp.StatusCode
			return resp, nil
		}
		t.release()
		lastErr = err
		dial := isDialError(err)
		if dial {
			t.connFailed(threshold, err)
		}
		if req.Context().Err() != nil || !(dial && !a.body.started()) && !(replayable(req) && a.body == nil) {
			return nil, err
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, errNoTarget
}

// replayable: an idempotent request without a body may be sent again when
// its target failed before answering (the target died mid-request).
func replayable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.Header.Get("Upgrade") == ""
	}
	return false
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	a, _ := r.Context().Value(attemptKey{}).(*attempt)
	switch {
	case a != nil && a.body.tooLarge():
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("ferry: request body exceeds the limit of %d bytes", rt.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
	case a != nil && a.body.timedOut():
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("ferry: request body not received within %s", rt.opts.ReadTimeout), http.StatusRequestTimeout)
	case errors.Is(err, errNoTarget):
		refuse(w, r, http.StatusServiceUnavailable, fmt.Sprintf("ferry: service %s has no healthy target", a.view.name))
	case r.Context().Err() != nil:
		w.WriteHeader(499) // the client went away; nobody reads this
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			refuse(w, r, http.StatusGatewayTimeout, "ferry: target timed out")
			return
		}
		rt.log.Warn("router: upstream error", "service", a.view.name, "err", err)
		refuse(w, r, http.StatusBadGateway, "ferry: bad gateway")
	}
}

// refuse answers r with an error of the router's own. A request that came
// with a body closes its connection after the answer, and reading the rest
// of that body stops at once: net/http would otherwise read up to 256 KiB
// of it when the request ends, a read that no deadline bounds on this path
// — a client announcing a huge chunk could hold the connection forever.
func refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	http.Error(w, msg, code)
}

type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// recorder captures the status for metrics and pushes the write deadline
// forward on each write, so a client that stops reading is dropped after
// WriteTimeout while a long stream that keeps flowing is not.
type recorder struct {
	http.ResponseWriter
	dl           deadliner
	writeTimeout time.Duration
	status       int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.dl != nil {
		w.dl.SetWriteDeadline(time.Now().Add(w.writeTimeout))
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// limitedBody enforces MaxBodyBytes, records whether the transport started
// reading (a retry is then no longer safe), clears the body's read deadline
// once it is read, notes a read past it, and ignores Close: the transport closes a body on a failed
// try, and the server closes the real one.
type limitedBody struct {
	rc      io.ReadCloser
	n, max  int64
	clear   deadliner
	read    atomic.Bool
	tooBig  atomic.Bool
	slow    atomic.Bool // the read deadline passed
	cleared atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.tooBig.Store(true)
		return n, errBodyTooLarge
	}
	if err == io.EOF && b.clear != nil && b.cleared.CompareAndSwap(false, true) {
		b.clear.SetReadDeadline(time.Time{})
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		b.slow.Store(true)
	}
	return n, err
}

func (b *limitedBody) Close() error { return nil }

func (b *limitedBody) started() bool  { return b != nil && b.read.Load() }
func (b *limitedBody) tooLarge() bool { return b != nil && b.tooBig.Load() }
func (b *limitedBody) timedOut() bool { return b != nil && b.slow.Load() }

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{}

var buffers = newPool(func() []byte { return make([]byte, 32<<10) })

func (bufferPool) Get() []byte  { return buffers.get() }
func (bufferPool) Put(b []byte) { buffers.put(b) }
