package router

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// health states, stored atomically in target.state.
const (
	stInitial int32 = iota
	stHealthy
	stUnhealthy
	stDraining
)

func stateName(s int32) api.TargetHealth {
	switch s {
	case stHealthy:
		return api.TargetHealthy
	case stUnhealthy:
		return api.TargetUnhealthy
	case stDraining:
		return api.TargetDraining
	}
	return api.TargetInitial
}

// target is one task. Its membership in groups is immutable (set by admin
// changes); its health, in-flight count and connections change under load,
// all through atomics or its own locks.
type target struct {
	id, addr string

	state     atomic.Int32
	inflight  atomic.Int64
	finished  atomic.Int64 // requests completed, for drain accounting
	connFails atomic.Int32 // consecutive failed connects (passive health)
	closed    atomic.Bool  // drained: admits no request any more
	// reconfirm: restored from the state file as healthy, first check
	// still to come; that check alone re-admits it (restore.go).
	reconfirm atomic.Bool
	idle      chan struct{}
	listener  healthListener // nil: nobody listens

	transport *http.Transport // the general path's connections
	pool      upPool          // the fast path's idle connections
	conns     connSet         // every open connection, both paths

	errMu   sync.Mutex
	lastErr string

	stopHealth context.CancelFunc
	healthDone chan struct{}

	changed func() // called after each health transition; nil: none
}

func newTarget(t api.Target, connectTimeout time.Duration) *target {
	tg := &target{id: t.ID, addr: t.Addr, idle: make(chan struct{}, 1)}
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	tg.transport = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return tg.conns.add(c), nil
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// Plain HTTP/1.1 to targets: upgrades and streaming pass through as is.
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: time.Second,
	}
	return tg
}

// acquire admits one request unless the target finished draining.
func (t *target) acquire() bool {
	t.inflight.Add(1)
	if t.closed.Load() {
		t.release()
		return false
	}
	return true
}

func (t *target) release() {
	t.finished.Add(1)
	if t.inflight.Add(-1) == 0 && t.state.Load() == stDraining {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}

func (t *target) setErr(s string) {
	t.errMu.Lock()
	t.lastErr = s
	t.errMu.Unlock()
}

func (t *target) status() api.TargetStatus {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return api.TargetStatus{
		Target:    api.Target{ID: t.id, Addr: t.addr},
		Health:    stateName(t.state.Load()),
		InFlight:  t.inflight.Load(),
		LastError: t.lastErr,
	}
}

// connFailed records a failed connect; after threshold consecutive ones the
// target is ejected until active checks bring it back.
func (t *target) connFailed(threshold int, err error) {
	t.setErr("connect: " + err.Error())
	if int(t.connFails.Add(1)) >= threshold && t.state.CompareAndSwap(stHealthy, stUnhealthy) {
		t.notify()
	}
}

func (t *target) notify() {
	if t.changed != nil {
		t.changed()
	}
}

// connSet tracks a target's open upstream connections so that a drain that
// times out can cut the requests still using them.
type connSet struct {
	mu sync.Mutex
	m  map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.m, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}

func (s *connSet) add(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*trackedConn]struct{}{}
	}
	s.m[tc] = struct{}{}
	s.mu.Unlock()
	return tc
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	cs := make([]*trackedConn, 0, len(s.m))
	for c := range s.m {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}
