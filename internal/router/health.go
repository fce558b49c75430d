package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// healthConfig is a service's HealthCheck with defaults applied and its
// status matcher parsed.
type healthConfig struct {
	path                           string
	interval, timeout, startPeriod time.Duration
	healthy, unhealthy             int
	status                         statusMatcher
}

func newHealthConfig(h api.HealthCheck) (*healthConfig, error) {
	c := &healthConfig{path: h.Path, interval: h.Interval, timeout: h.Timeout, startPeriod: h.StartPeriod,
		healthy: h.HealthyThreshold, unhealthy: h.UnhealthyThreshold}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	c.startPeriod = max(c.startPeriod, c.interval)
	if c.timeout <= 0 {
		c.timeout = 2 * time.Second
	}
	if c.healthy <= 0 {
		c.healthy = 2
	}
	if c.unhealthy <= 0 {
		c.unhealthy = 3
	}
	spec := h.Status
	if spec == "" {
		spec = "200-399"
	}
	m, err := parseStatus(spec)
	if err != nil {
		return nil, err
	}
	c.status = m
	return c, nil
}

// statusMatcher is a list of inclusive status ranges.
type statusMatcher [][2]int

// parseStatus reads "200-399" or "200,204" or a mix of both.
func parseStatus(s string) (statusMatcher, error) {
	var m statusMatcher
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("health.status %q: %q is not a status code or range like 200-399", s, part)
		}
		m = append(m, [2]int{a, b})
	}
	return m, nil
}

func (m statusMatcher) match(code int) bool {
	for _, r := range m {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// streak counts consecutive check results for one target.
type streak struct{ ok, fail int }

// nextHealth is the threshold state machine: initial and unhealthy targets
// become healthy after `healthy` consecutive passes; healthy ones become
// unhealthy after `unhealthy` consecutive failures (initial ones too, so a
// target that never comes up says so). Draining is terminal.
func nextHealth(cur int32, s streak, passed bool, healthy, unhealthy int) (int32, streak) {
	if cur == stDraining {
		return cur, s
	}
	if passed {
		s = streak{ok: s.ok + 1}
		if cur != stHealthy && s.ok >= healthy {
			return stHealthy, s
		}
		return cur, s
	}
	s = streak{fail: s.fail + 1}
	if cur != stUnhealthy && s.fail >= unhealthy {
		return stUnhealthy, s
	}
	return cur, s
}

// healthListener hears what a target's checks find: the router saves
// health changes to its state file and wakes requests held for a restored
// target's first check.
type healthListener interface {
	healthChanged()
	firstChecked()
}

// startChecks runs t's active checks, the first at once, until stopChecks;
// cfg is read on each round so that a service update takes effect without a
// restart.
func (t *target) startChecks(cfg func() *healthConfig) {
	ctx, cancel := context.WithCancel(context.Background())
	t.stopHealth = cancel
	t.healthDone = make(chan struct{})
	go func() {
		defer close(t.healthDone)
		// One kept-alive connection per target: a probe is then a request,
		// not a dial and two goroutines on each side. bench/deploy at N=50:
		// the router's CPU per deploy 340–350 ms against 410–440. A new
		// target's first probe still dials, so a refusal is still seen
		// (pace.go), and a GET on a connection the task closed meanwhile
		// is retried by the transport on a fresh one.
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer client.CloseIdleConnections()
		var (
			s  streak
			p  pace
			wt = time.NewTimer(0)
		)
		defer wt.Stop()
		last := t.state.Load()
		for {
			select {
			case <-ctx.Done():
				return
			case <-wt.C:
			}
			c := cfg()
			sent := time.Now()
			err := t.check(ctx, client, c)
			if ctx.Err() != nil {
				return
			}
			now, passed := time.Now(), err == nil
			cur := t.state.Load()
			if cur != last { // changed elsewhere (passive ejection): count afresh
				s = streak{}
			}
			if err != nil {
				t.setErr(err.Error())
			} else {
				t.setErr("")
				t.connFails.Store(0)
			}
			reconfirm := t.reconfirm.Load()
			forgiven := cur == stInitial && refused(err) && p.starting(now, c.startPeriod)
			next := cur
			if !forgiven && p.counts(now, passed) {
				next, s = nextHealth(cur, s, passed, passesNeeded(c.healthy, reconfirm), c.unhealthy)
				if next != cur && !t.state.CompareAndSwap(cur, next) {
					next = t.state.Load()
					s = streak{}
				}
			}
			last = next
			if reconfirm {
				t.reconfirm.Store(false)
			}
			if next != cur {
				t.notify()
			}
			if t.listener != nil {
				if next != cur {
					t.listener.healthChanged()
				}
				if reconfirm {
					t.listener.firstChecked()
				}
			}
			var wait time.Duration
			p, wait = p.after(sent, now, passed, forgiven, next == stInitial, c.interval)
			wt.Reset(wait)
		}
	}()
}

// passesNeeded is how many consecutive passes admit a target: the
// service's healthy_threshold, or one for a target restored as healthy,
// whose first check re-confirms what was known rather than meets a new
// target.
func passesNeeded(healthy int, reconfirm bool) int {
	if reconfirm {
		return 1
	}
	return healthy
}

func (t *target) stopChecks() {
	if t.stopHealth != nil {
		t.stopHealth()
		<-t.healthDone
	}
}

// refused reports whether a probe found nothing listening: the target's
// process is not up yet (see pace).
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// check is one probe: an HTTP GET of the health path, or a TCP connect when
// the service has none.
func (t *target) check(ctx context.Context, client *http.Client, c *healthConfig) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.path == "" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			return fmt.Errorf("health: %w", err)
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.addr+c.path, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	req.Header.Set("User-Agent", "ferry-router-health")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !c.status.match(resp.StatusCode) {
		return fmt.Errorf("health: GET %s: status %d", c.path, resp.StatusCode)
	}
	return nil
}
