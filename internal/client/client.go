// Package client owns the CLI's side of the control plane's API: finding the
// server (the unix socket under $FERRY_HOME, or FERRY_SERVER for a remote
// one), the bearer token (FERRY_TOKEN, else $FERRY_HOME/token), JSON calls,
// NDJSON streams and exec sessions. It holds no command logic and never
// reads the server's state other than through the API.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/server/wire"
)

// Options choose the server and the token. Empty fields fall back to the
// environment: FERRY_SERVER (e.g. http://10.0.0.5:7070) and FERRY_TOKEN;
// then the unix socket and the token file of the home.
type Options struct {
	Server string
	Token  string
	// Local forces the home's unix socket even when FERRY_SERVER is set
	// (ferry's own daemon management talks to the local server only).
	Local bool
}

// Client calls one ferry server. It is safe for concurrent use.
type Client struct {
	base   string // scheme://host, no trailing slash
	socket string // set when talking over the unix socket
	token  string
	http   *http.Client
}

// New returns a client for the server of home h (or the remote server in
// opts / FERRY_SERVER). It does not connect; a missing token is not an error
// here (health needs none), the server answers 401 with a hint.
func New(h home.Dir, opts Options) (*Client, error) {
	if opts.Local {
		opts.Server = ""
	} else if opts.Server == "" {
		opts.Server = os.Getenv("FERRY_SERVER")
	}
	if opts.Token == "" {
		opts.Token = os.Getenv("FERRY_TOKEN")
	}
	if opts.Token == "" {
		b, err := os.ReadFile(h.TokenFile())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("API token: %w", err)
		}
		opts.Token = strings.TrimSpace(string(b))
	}
	c := &Client{token: opts.Token}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Server != "" {
		u, err := url.Parse(opts.Server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("FERRY_SERVER %q: want http://host:port or https://host:port", opts.Server)
		}
		c.base = u.Scheme + "://" + u.Host
	} else {
		c.socket = h.ServerSocket()
		c.base = "http://ferry"
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", c.socket)
		}
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// APIError is the server's refusal: its message and hint. Status is the
// HTTP status, or 0 for an error reported inside an exec session.
type APIError struct {
	Status  int
	Message string
	Hint    string
}

func (e *APIError) Error() string {
	if e.Hint != "" {
		return e.Message + " (hint: " + e.Hint + ")"
	}
	return e.Message
}

// NotRunningError means nothing listens on the local socket.
type NotRunningError struct{ Socket string }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("no ferry server at %s: start one with `ferry up` or `ferry server`", e.Socket)
}

// Do sends in (nil for no body) as JSON and decodes a 2xx JSON answer into
// out (nil to discard). Non-2xx answers are *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encoding request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// Health asks the server whether it is up; it needs no token.
func (c *Client) Health(ctx context.Context) (wire.Health, error) {
	var h wire.Health
	err := c.Do(ctx, http.MethodGet, "/v1/health", nil, &h)
	return h, err
}

// Stream GETs path and calls fn with each JSON value of the NDJSON answer as
// it arrives. It returns nil when the server ends the stream, ctx's error
// when ctx ends, or fn's error, which stops the stream.
func (c *Client) Stream(ctx context.Context, path string, fn func(json.RawMessage) error) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", wire.NDJSON)
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			if err == io.EOF {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("GET %s: stream: %w", path, err)
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("API path %q: must start with /", path)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// send performs req and turns transport failures and non-2xx answers into
// clear errors; on success the caller owns resp.Body.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if c.socket != "" && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
			return nil, &NotRunningError{Socket: c.socket}
		}
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp)
}

func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc wire.ErrorDoc
	if json.Unmarshal(b, &doc) == nil && doc.Error != "" {
		return &APIError{Status: resp.StatusCode, Message: doc.Error, Hint: doc.Hint}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Message: fmt.Sprintf("server answered %d: %s", resp.StatusCode, msg)}
}
