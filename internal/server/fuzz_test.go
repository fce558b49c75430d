package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fuzzDoc has a field of each JSON kind Decode's errors describe.
type fuzzDoc struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	Ratio   float64           `json:"ratio"`
	On      *bool             `json:"on"`
	Tags    []string          `json:"tags"`
	Env     map[string]string `json:"env"`
	Nested  *fuzzDoc          `json:"nested"`
	Numbers [2]uint8          `json:"numbers"`
}

// FuzzDecode: any body gives either a value that survives a round trip or
// an *Error (400, or 413 past the limit) whose message starts "request
// body:"; never a panic or another error type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"web","count":3,"ratio":0.5,"on":true,"tags":["a"],"env":{"A":"b"},"nested":{"name":"x"},"numbers":[1,2]}`,
		`{"name":3}`, `{"count":"3"}`, `{"numbers":[1,2,3]}`, `{"numbers":[300]}`, `{"count":1e400}`,
		`{"unknown":1}`, `{"name":"a"}{"name":"b"}`, `{"name":"a"} x`, `[]`, `null`, ``, `{`, `{"name":"\ud800"}`,
		`{"nested":` + strings.Repeat(`{"nested":`, 2000) + `null` + strings.Repeat(`}`, 2001),
		`{"name":"` + strings.Repeat("x", 300) + `"}`,
	} {
		f.Add([]byte(s))
	}
	const limit = 256
	f.Fuzz(func(t *testing.T, body []byte) {
		decode := func(b []byte) (fuzzDoc, error) {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
			var d fuzzDoc
			return d, Decode(r, &d)
		}
		d, err := decode(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge) ||
				!strings.HasPrefix(e.Message, "request body: ") {
				t.Fatalf("body %q: error %#v, want *Error 400/413 saying \"request body: ...\"", body, err)
			}
			if e.Status == http.StatusRequestEntityTooLarge && len(body) <= limit {
				t.Fatalf("body of %d bytes called larger than %d", len(body), limit)
			}
			return
		}
		if len(body) > limit {
			t.Fatalf("a %d-byte body passed the %d-byte limit", len(body), limit)
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) > limit {
			return // the re-encoding (escapes, defaults) outgrew the limit
		}
		d2, err := decode(again)
		if err != nil || !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip of %q: %+v then %+v (%v)", body, d, d2, err)
		}
	})
}

// lockedBuffer collects the access log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// FuzzAuthenticate sends arbitrary Authorization and X-Request-Id headers
// through the middleware and authentication: the handler runs exactly when
// the bearer token is right; a refusal is a 401 that repeats nothing of
// what was presented; the request id sent back is always short and plain;
// the token never reaches the log.
func FuzzAuthenticate(f *testing.F) {
	const token = "fuzz-token-Zm9vYmFyYmF6cXV4"
	for _, s := range [][2]string{
		{"Bearer " + token, ""}, {"Bearer  " + token + " ", "req-1"}, {"bearer " + token, ""}, {"Bearer", ""},
		{"Bearer ", "x"}, {"Basic Zm9vOmJhcg==", ""}, {"Bearer " + token + "x", strings.Repeat("a", 65)},
		{"Bearer " + token[:10], "id\r\nSet-Cookie: x"}, {"", "ünïcode"}, {"Bearer \x00" + token, "a b"},
	} {
		f.Add(s[0], s[1])
	}
	hash := sha256.Sum256([]byte(token))
	var logs lockedBuffer
	s := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := hash[:]
	s.hash.Store(&h)
	var reached bool
	handler := s.wrap(s.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	})))
	f.Fuzz(func(t *testing.T, auth, reqID string) {
		reached = false
		r := httptest.NewRequest(http.MethodGet, "/v1/version", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Request-Id", reqID)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)

		rest, isBearer := strings.CutPrefix(auth, "Bearer ")
		want := isBearer && strings.TrimSpace(rest) == token
		if reached != want {
			t.Fatalf("Authorization %q: handler reached %v, want %v", auth, reached, want)
		}
		if !reached {
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("refusal: %d %v", w.Code, w.Header())
			}
			if len(auth) >= 6 && strings.Contains(w.Body.String(), auth) {
				t.Fatalf("the refusal repeats the presented credentials %q: %s", auth, w.Body)
			}
		}
		id := w.Header().Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool {
			return !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
		}) {
			t.Fatalf("X-Request-Id %q sent back for %q", id, reqID)
		}
		logs.mu.Lock()
		leaked := strings.Contains(logs.b.String(), token)
		logs.b.Reset()
		logs.mu.Unlock()
		if leaked {
			t.Fatalf("the token reached the log (Authorization %q, X-Request-Id %q)", auth, reqID)
		}
	})
}
