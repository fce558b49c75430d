package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the process tests run hello's real main by re-executing the
// test binary with HELLO_TEST_MAIN=1, so no separate build is needed.
func TestMain(m *testing.M) {
	if os.Getenv("HELLO_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{"defaults", nil, config{Port: "8080"}, ""},
		{"version defaults to revision", map[string]string{"PORT": "9000", "FERRY_REVISION": "7", "FERRY_TASK_ID": "web-7-a"},
			config{Port: "9000", Version: "7", Revision: "7", TaskID: "web-7-a"}, ""},
		{"explicit version", map[string]string{"FERRY_REVISION": "7", "HELLO_VERSION": "v2"},
			config{Port: "8080", Version: "v2", Revision: "7"}, ""},
		{"knobs", map[string]string{"HELLO_UNHEALTHY": "1", "HELLO_START_DELAY": "3s", "HELLO_FAIL_PERCENT": "20",
			"HELLO_LATENCY": "50ms", "HELLO_IGNORE_SIGTERM": "5s", "HELLO_CRASH_AFTER": "10s"},
			config{Port: "8080", Unhealthy: true, StartDelay: 3 * time.Second, FailPercent: 20, Latency: 50 * time.Millisecond,
				IgnoreTerm: 5 * time.Second, CrashAfter: 10 * time.Second}, ""},
		{"bad port", map[string]string{"PORT": "http"}, config{}, `PORT="http": not a port number`},
		{"bad duration", map[string]string{"HELLO_LATENCY": "fast"}, config{}, `HELLO_LATENCY="fast": want a non-negative duration`},
		{"negative duration", map[string]string{"HELLO_CRASH_AFTER": "-1s"}, config{}, `HELLO_CRASH_AFTER="-1s"`},
		{"percent out of range", map[string]string{"HELLO_FAIL_PERCENT": "101"}, config{}, `HELLO_FAIL_PERCENT="101": want an integer from 0 to 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestShouldFailIsExact(t *testing.T) {
	for _, pct := range []int{0, 1, 20, 33, 50, 100} {
		fails := 0
		for n := int64(1); n <= 100; n++ {
			if shouldFail(n, pct) {
				fails++
			}
		}
		if fails != pct {
			t.Errorf("pct %d: %d of 100 answers failed", pct, fails)
		}
	}
	// 20%: every fifth answer, evenly spread.
	for n := int64(1); n <= 10; n++ {
		if got, want := shouldFail(n, 20), n%5 == 0; got != want {
			t.Errorf("shouldFail(%d, 20) = %v, want %v", n, got, want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestRootAnswersVersionRevisionTask(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{Version: "v2", Revision: "3", TaskID: "web-3-x"}))
	defer srv.Close()
	code, body := get(t, srv.URL+"/")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var got rootAnswer
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	if want := (rootAnswer{App: "hello", Version: "v2", Revision: "3", Task: "web-3-x"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if code, _ := get(t, srv.URL+"/nope"); code != 404 {
		t.Fatalf("/nope: status %d, want 404", code)
	}
}

func TestHealthz(t *testing.T) {
	for _, unhealthy := range []bool{false, true} {
		srv := httptest.NewServer(newHandler(config{Unhealthy: unhealthy}))
		code, _ := get(t, srv.URL+"/healthz")
		srv.Close()
		want := 200
		if unhealthy {
			want = 503
		}
		if code != want {
			t.Errorf("unhealthy=%v: status %d, want %d", unhealthy, code, want)
		}
	}
}

func TestFailPercentCountsExactly(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{FailPercent: 20}))
	defer srv.Close()
	var failed []int
	for i := 1; i <= 20; i++ {
		if code, _ := get(t, srv.URL+"/"); code == 500 {
			failed = append(failed, i)
		} else if code != 200 {
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	if fmt.Sprint(failed) != "[5 10 15 20]" {
		t.Fatalf("failed requests %v, want [5 10 15 20]", failed)
	}
	// Health checks do not consume the failure counter.
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
}

func TestLatencyDelaysEveryAnswer(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{Latency: 150 * time.Millisecond}))
	defer srv.Close()
	start := time.Now()
	get(t, srv.URL+"/")
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("answer took %s, want at least the 150ms latency", took)
	}
}

func TestSlow(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{}))
	defer srv.Close()
	start := time.Now()
	code, body := get(t, srv.URL+"/slow?d=200ms")
	if code != 200 || body != "slept 200ms\n" || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("status %d body %q after %s", code, body, time.Since(start))
	}
	if code, body := get(t, srv.URL+"/slow?d=forever"); code != 400 || !strings.Contains(body, `d="forever"`) {
		t.Fatalf("bad d: status %d body %q", code, body)
	}
}

func TestSSEStreamsFlushedEvents(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{Version: "v1", TaskID: "t1"}))
	defer srv.Close()
	// A long gap between events: the first must arrive flushed, long before
	// the stream ends.
	resp, err := http.Get(srv.URL + "/sse?n=2&every=10s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(resp.Body)
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil || l == "\n" {
				break
			}
			lines = append(lines, l)
		}
		first <- strings.Join(lines, "")
	}()
	select {
	case ev := <-first:
		if want := "id: 1\ndata: {\"n\":1,\"version\":\"v1\",\"task\":\"t1\"}\n"; ev != want {
			t.Fatalf("first event %q, want %q", ev, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first event not flushed")
	}
}

// hello is the real main running as a child process on a free port.
type hello struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startHello(t *testing.T, extra ...string) *hello {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append([]string{"HELLO_TEST_MAIN=1", "PORT=" + strconv.Itoa(port), "FERRY_REVISION=4", "FERRY_TASK_ID=web-4-t"}, extra...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &hello{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	go func() { h.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-h.done
	})
	return h
}

// waitUp polls / until it answers, or fails after the deadline.
func (h *hello) waitUp(t *testing.T, deadline time.Duration) time.Time {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		resp, err := http.Get(h.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return time.Now()
		}
		select {
		case err := <-h.done:
			t.Fatalf("hello exited before listening: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("hello not listening after %s", deadline)
	return time.Time{}
}

func (h *hello) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for Cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("hello still running after %s", within)
		return 0
	}
}

func TestProcessServesAndShutsDownGracefully(t *testing.T) {
	h := startHello(t)
	h.waitUp(t, 10*time.Second)
	code, body := get(t, h.url+"/")
	if code != 200 || !strings.Contains(body, `"version":"4","revision":"4","task":"web-4-t"`) {
		t.Fatalf("status %d body %q", code, body)
	}
	// A request in flight when SIGTERM arrives completes: Shutdown drains it.
	// The first event proves the handler is running before the signal.
	resp, err := http.Get(h.url + "/sse?n=2&every=300ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if l, err := r.ReadString('\n'); err != nil || l != "id: 1\n" {
		t.Fatalf("first line %q, %v", l, err)
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	rest, err := io.ReadAll(r)
	if err != nil || !strings.Contains(string(rest), "id: 2\n") {
		t.Fatalf("stream after SIGTERM: %q, %v", rest, err)
	}
	if c := h.exitCode(t, 10*time.Second); c != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", c)
	}
}

func TestProcessStartDelay(t *testing.T) {
	start := time.Now()
	h := startHello(t, "HELLO_START_DELAY=400ms")
	if up := h.waitUp(t, 10*time.Second); up.Sub(start) < 400*time.Millisecond {
		t.Fatalf("listening after %s, want at least 400ms", up.Sub(start))
	}
}

func TestProcessIgnoresSIGTERMForAWhile(t *testing.T) {
	h := startHello(t, "HELLO_IGNORE_SIGTERM=600ms")
	h.waitUp(t, 10*time.Second)
	sent := time.Now()
	h.cmd.Process.Signal(syscall.SIGTERM)
	// Still serving right after the signal.
	if code, _ := get(t, h.url+"/"); code != 200 {
		t.Fatalf("status %d during the ignore window", code)
	}
	if c := h.exitCode(t, 10*time.Second); c != 0 {
		t.Fatalf("exit code %d", c)
	}
	if took := time.Since(sent); took < 600*time.Millisecond {
		t.Fatalf("exited %s after SIGTERM, want at least 600ms", took)
	}
}

func TestProcessCrashAfter(t *testing.T) {
	h := startHello(t, "HELLO_CRASH_AFTER=300ms")
	h.waitUp(t, 10*time.Second)
	if c := h.exitCode(t, 10*time.Second); c != 1 {
		t.Fatalf("exit code %d, want 1", c)
	}
}

func TestProcessRejectsBadKnob(t *testing.T) {
	h := startHello(t, "HELLO_LATENCY=soon")
	if c := h.exitCode(t, 10*time.Second); c != 1 {
		t.Fatalf("exit code %d, want 1", c)
	}
}
