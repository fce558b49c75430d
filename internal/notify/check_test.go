package notify

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	type payload struct {
		Deployment int64  `json:"deployment"`
		Phase      string `json:"phase"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&p) != nil || p.Deployment != 9 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch p.Phase {
		case "ok":
			w.WriteHeader(http.StatusNoContent)
		case "bad":
			http.Error(w, "error rate\ntoo high", http.StatusServiceUnavailable)
		case "slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		phase  string
		pass   bool
		detail string
		err    string
	}{
		{"ok", true, "HTTP 204", ""},
		{"bad", false, "HTTP 503: error rate too high", ""},
		{"slow", false, "", "deadline exceeded"},
	} {
		pass, detail, err := Check(context.Background(), srv.URL+"/check/"+token, payload{9, tc.phase}, 200*time.Millisecond)
		if pass != tc.pass || detail != tc.detail {
			t.Errorf("%s: Check = %v, %q; want %v, %q", tc.phase, pass, detail, tc.pass, tc.detail)
		}
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err = %v, want one containing %q", tc.phase, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: error leaks the URL's path: %v", tc.phase, err)
		}
	}
}

func TestCheckWithoutAnswerIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pass, _, err := Check(context.Background(), "http://"+addr+"/"+token, map[string]int{"a": 1}, time.Second)
	if pass || err == nil {
		t.Fatalf("Check on a closed port = %v, %v; want false and an error", pass, err)
	}
	if !strings.Contains(err.Error(), "http://"+addr) || strings.Contains(err.Error(), token) {
		t.Errorf("error %q should name the host and hide the path", err)
	}
}

func TestCheckBadInput(t *testing.T) {
	if _, _, err := Check(context.Background(), "http://127.0.0.1:1/", func() {}, time.Second); err == nil ||
		!strings.Contains(err.Error(), "body") {
		t.Errorf("unmarshalable body: err = %v, want a body error", err)
	}
	if _, _, err := Check(context.Background(), "::not a url", nil, time.Second); err == nil ||
		!strings.Contains(err.Error(), "invalid URL") {
		t.Errorf("bad URL: err = %v, want an invalid URL error", err)
	}
}
