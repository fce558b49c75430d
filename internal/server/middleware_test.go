package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/server"
)

type deployReq struct {
	Service string `json:"service"`
	Count   int    `json:"count"`
}

// echo decodes a deployReq and sends it back.
func echo(w http.ResponseWriter, r *http.Request) {
	var in deployReq
	if err := server.Decode(r, &in); err != nil {
		server.WriteError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, in)
}

func TestPanicIs500AndTheServerKeepsServing(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) {
		s.HandleFunc("GET /v1/boom", func(w http.ResponseWriter, r *http.Request) { panic("kaboom " + "detail") })
	})
	resp := call(t, r, "GET", "/v1/boom", r.token, "")
	if resp.StatusCode != 500 {
		t.Fatalf("panic: status %d, want 500", resp.StatusCode)
	}
	doc := errorDoc(t, resp)
	if strings.Contains(doc.Error, "kaboom") {
		t.Fatalf("the panic value reached the caller: %+v", doc)
	}
	if resp := call(t, r, "GET", "/v1/version", r.token, ""); resp.StatusCode != 200 {
		t.Fatalf("after a panic: %d", resp.StatusCode)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "kaboom detail") || !strings.Contains(logs, "goroutine") {
		t.Fatalf("panic value and stack not logged:\n%s", logs)
	}
	if !strings.Contains(logs, `"path":"/v1/boom","status":500`) {
		t.Fatalf("access log does not record the 500:\n%s", logs)
	}
}

func TestBodyLimit(t *testing.T) {
	r := start(t, server.Config{MaxBody: 64}, func(s *server.Server) { s.HandleFunc("POST /v1/echo", echo) })
	big := `{"service":"` + strings.Repeat("a", 100) + `"}`

	// With a Content-Length: refused before the handler reads anything.
	if resp := call(t, r, "POST", "/v1/echo", r.token, big); resp.StatusCode != 413 {
		t.Fatalf("oversized body with length: %d, want 413", resp.StatusCode)
	}
	// Chunked, no length: the limit trips while decoding.
	req, _ := http.NewRequest("POST", "http://ferry/v1/echo", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := unixHTTP(r.home).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != 413 {
		t.Fatalf("chunked oversized body: length %d, status %d, want 413", req.ContentLength, resp.StatusCode)
	}
	if doc := errorDoc(t, resp); !strings.Contains(doc.Error, "64 bytes") {
		t.Fatalf("413 does not name the limit: %+v", doc)
	}
	if resp := call(t, r, "POST", "/v1/echo", r.token, `{"service":"web"}`); resp.StatusCode != 200 {
		t.Fatalf("small body: %d", resp.StatusCode)
	}
}

func TestDecodeErrorsNameTheProblem(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) { s.HandleFunc("POST /v1/echo", echo) })
	for _, tc := range []struct{ name, body, want string }{
		{"unknown field", `{"service":"web","replicas":3}`, `unknown field "replicas"`},
		{"wrong type", `{"service":"web","count":"three"}`, `field "count": want a JSON number, got JSON string`},
		{"malformed", `{"service":`, "truncated JSON"},
		{"syntax", `{"service" "web"}`, "malformed JSON at byte"},
		{"two values", `{"service":"web"} {}`, "more than one JSON value"},
		{"not an object", `[1]`, "want a JSON object, got JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, r, "POST", "/v1/echo", r.token, tc.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if doc := errorDoc(t, resp); !strings.Contains(doc.Error, tc.want) {
				t.Fatalf("error %q does not contain %q", doc.Error, tc.want)
			}
		})
	}
	resp := call(t, r, "POST", "/v1/echo", r.token, "")
	if doc := errorDoc(t, resp); resp.StatusCode != 400 || !strings.Contains(doc.Error, "empty") {
		t.Fatalf("empty body: %d %+v", resp.StatusCode, doc)
	}
}

func TestAccessLogHasNoSecretsAndCarriesTheRequestID(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) { s.HandleFunc("POST /v1/echo", echo) })
	resp := call(t, r, "POST", "/v1/echo?x=1", r.token, `{"service":"sekrit-body-value"}`)
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("status %d, request id %q", resp.StatusCode, id)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		if strings.Contains(l, id) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil || line["method"] != "POST" || line["path"] != "/v1/echo" || line["status"] != float64(200) || line["duration"] == nil {
		t.Fatalf("access log line for %s: %v\nall:\n%s", id, line, r.logs.String())
	}
	for _, secret := range []string{r.token, "sekrit-body-value", "Bearer"} {
		if strings.Contains(r.logs.String(), secret) {
			t.Fatalf("log contains %q", secret)
		}
	}
}

func TestClientErrorsCarryMessageAndHint(t *testing.T) {
	r := start(t, server.Config{}, func(s *server.Server) {
		s.HandleFunc("POST /v1/echo", echo)
		s.HandleFunc("GET /v1/conflict", func(w http.ResponseWriter, r *http.Request) {
			server.WriteError(w, server.Errorf(409, "deployment 7 in progress").WithHint("wait or `ferry abort`"))
		})
		s.HandleFunc("GET /v1/internal", func(w http.ResponseWriter, r *http.Request) {
			server.WriteError(w, errors.New("open /secret/path: permission denied"))
		})
	})
	c := newClient(t, r)
	var apiErr *client.APIError
	err := c.Do(context.Background(), "GET", "/v1/conflict", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Message != "deployment 7 in progress" || apiErr.Hint != "wait or `ferry abort`" {
		t.Fatalf("got %#v", err)
	}
	err = c.Do(context.Background(), "GET", "/v1/internal", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 500 || strings.Contains(err.Error(), "/secret/path") {
		t.Fatalf("internal error leaked or lost: %v", err)
	}
	var out deployReq
	if err := c.Do(context.Background(), "POST", "/v1/echo", deployReq{Service: "web", Count: 3}, &out); err != nil || out != (deployReq{"web", 3}) {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	bad, _ := client.New(r.home, client.Options{Token: "wrong"})
	err = bad.Do(context.Background(), "GET", "/v1/version", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || !strings.Contains(err.Error(), "FERRY_TOKEN") {
		t.Fatalf("wrong token: %v", err)
	}
}
