// Package client is the Go client of the router's admin API, used by the
// control plane to drive `ferry router` over its unix socket. It speaks only
// the api package's documents; it holds no routing logic.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// Client talks to one router. It is safe for concurrent use.
type Client struct {
	socket string
	http   *http.Client
}

// New returns a client of the router listening on socketPath. Calls that
// drain (removals) wait as long as the drain takes; bound them with ctx.
func New(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		// A connection per call: a unix socket dial costs microseconds, and
		// a kept-alive connection could be closed under a call by a router
		// handing over to its successor.
		DisableKeepAlives: true,
	}
	return &Client{socket: socketPath, http: &http.Client{Transport: tr}}
}

// Kinds of router errors, for errors.Is.
var (
	ErrNotFound   = errors.New("router: not found")
	ErrConflict   = errors.New("router: conflict")
	ErrBadRequest = errors.New("router: bad request")
	// ErrHandingOver: the router is restarting and applied nothing. Calls
	// retry it by themselves (handOverWait) before they return it.
	ErrHandingOver = errors.New("router: handing over")
)

// handOverWait bounds how long a call retries while the router hands over
// to its successor (it takes well under a second).
const handOverWait = 20 * time.Second

// Error is an error reply of the router, carrying its message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return "router: " + e.Message }

// Is matches ErrNotFound (404), ErrConflict (409) and ErrBadRequest (400).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrHandingOver:
		return e.Status == http.StatusServiceUnavailable
	}
	return false
}

// Ping checks that the router answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/v1/ping", nil, nil, nil)
}

// PutService creates or updates a service.
func (c *Client) PutService(ctx context.Context, s api.Service) error {
	return c.do(ctx, http.MethodPut, "/v1/service", nil, s, nil)
}

// DeleteService removes a service once all its targets have drained.
func (c *Client) DeleteService(ctx context.Context, name string) (api.DrainResult, error) {
	var res api.DrainResult
	err := c.do(ctx, http.MethodDelete, "/v1/service", url.Values{"service": {name}}, nil, &res)
	return res, err
}

// SetTargets replaces a group's targets (creating the group); the targets
// it drops are drained before it returns.
func (c *Client) SetTargets(ctx context.Context, service, group string, targets []api.Target) error {
	if targets == nil {
		targets = []api.Target{}
	}
	return c.do(ctx, http.MethodPut, "/v1/targets", url.Values{"service": {service}, "group": {group}}, targets, nil)
}

// AddTarget adds one target to a group; it takes traffic once healthy.
func (c *Client) AddTarget(ctx context.Context, service, group string, t api.Target) error {
	return c.do(ctx, http.MethodPost, "/v1/target", url.Values{"service": {service}, "group": {group}}, t, nil)
}

// RemoveTarget takes a target out of rotation and returns when it drained.
func (c *Client) RemoveTarget(ctx context.Context, service, group, targetID string) (api.DrainResult, error) {
	var res api.DrainResult
	err := c.do(ctx, http.MethodDelete, "/v1/target", url.Values{"service": {service}, "group": {group}, "target": {targetID}}, nil, &res)
	return res, err
}

// RemoveGroup removes a group and returns when all its targets drained.
func (c *Client) RemoveGroup(ctx context.Context, service, group string) (api.DrainResult, error) {
	var res api.DrainResult
	err := c.do(ctx, http.MethodDelete, "/v1/group", url.Values{"service": {service}, "group": {group}}, nil, &res)
	return res, err
}

// SetWeights sets several groups' weights (0-100) in one step.
func (c *Client) SetWeights(ctx context.Context, service string, weights map[string]int) error {
	return c.do(ctx, http.MethodPut, "/v1/weights", url.Values{"service": {service}}, weights, nil)
}

// Service reports a service's groups, targets and their health.
func (c *Client) Service(ctx context.Context, name string) (api.ServiceStatus, error) {
	var st api.ServiceStatus
	err := c.do(ctx, http.MethodGet, "/v1/service", url.Values{"service": {name}}, nil, &st)
	return st, err
}

// HealthChanges long-polls for targets' health transitions: it returns the
// services with one after version since (0 at first, then the previous
// reply's Version), waiting up to wait for one when there is none yet.
func (c *Client) HealthChanges(ctx context.Context, since uint64, wait time.Duration) (api.HealthChanges, error) {
	q := url.Values{"since": {strconv.FormatUint(since, 10)}, "wait": {wait.String()}}
	var hc api.HealthChanges
	err := c.do(ctx, http.MethodGet, "/v1/health/changes", q, nil, &hc)
	return hc, err
}

// Services reports every service.
func (c *Client) Services(ctx context.Context) ([]api.ServiceStatus, error) {
	var st []api.ServiceStatus
	err := c.do(ctx, http.MethodGet, "/v1/services", nil, nil, &st)
	return st, err
}

// Metrics reports a service's (group "") or a group's figures over window
// (0: the longest the router keeps).
func (c *Client) Metrics(ctx context.Context, service, group string, window time.Duration) (api.Metrics, error) {
	q := url.Values{"service": {service}, "group": {group}}
	if window > 0 {
		q.Set("window", window.String())
	}
	var m api.Metrics
	err := c.do(ctx, http.MethodGet, "/v1/metrics", q, nil, &m)
	return m, err
}

// ResetMetrics starts a group's (or, group "", the whole service's) metric
// window afresh, e.g. at the start of an analysis interval.
func (c *Client) ResetMetrics(ctx context.Context, service, group string) error {
	return c.do(ctx, http.MethodPost, "/v1/metrics/reset", url.Values{"service": {service}, "group": {group}}, nil, nil)
}

// Restart hands the router's sockets and table to a new router process
// and returns once that one serves; see `ferry router restart`.
func (c *Client) Restart(ctx context.Context) (api.Restarted, error) {
	var res api.Restarted
	err := c.do(ctx, http.MethodPost, "/v1/restart", nil, nil, &res)
	return res, err
}

// do makes one call, again while the router answers that it is handing
// over (it then applied nothing), until handOverWait or ctx ends.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	deadline := time.Now().Add(handOverWait)
	for {
		err := c.once(ctx, method, path, q, body, out)
		if !errors.Is(err, ErrHandingOver) || path == "/v1/restart" || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, q url.Values, in []byte, out any) error {
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	u := "http://router" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("router at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("router at %s: %w", c.socket, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: status %d", method, path, resp.StatusCode)
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("router at %s: %s %s: %w", c.socket, method, path, err)
		}
	}
	return nil
}
