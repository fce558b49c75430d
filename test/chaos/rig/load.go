package rig

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Failure is one request that did not get a 2xx answer from hello.
type Failure struct {
	At      time.Time
	Status  int    // 0: a transport error
	Body    string // the answer's body (shortened) or the transport error
	Version string // the hello version that answered, when the body names one
}

func (f Failure) String() string {
	v := f.Version
	if v == "" {
		v = "-"
	}
	return fmt.Sprintf("%s status %d version %s: %s", f.At.Format("15:04:05.000"), f.Status, v, f.Body)
}

// LoadOptions bound a load run; the zero value is 3 workers, a request
// every 10ms each, at most 200000 requests and 30 minutes.
type LoadOptions struct {
	Workers     int
	Every       time.Duration
	MaxRequests int64
	MaxTime     time.Duration
}

// Load sends GETs for Host through the router until stopped or out of its
// bounds, recording every failure.
type Load struct {
	addr   string
	stop   chan struct{}
	halted chan struct{}
	wg     sync.WaitGroup
	sent   atomic.Int64
	max    int64
	lastOK atomic.Int64 // unix nanoseconds of the latest success

	mu       sync.Mutex
	failures []Failure
	versions map[string]int
	once     sync.Once
}

// StartLoad starts the workers.
func StartLoad(addr string, o LoadOptions) *Load {
	if o.Workers <= 0 {
		o.Workers = 3
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Millisecond
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 200000
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 30 * time.Minute
	}
	l := &Load{addr: addr, stop: make(chan struct{}), halted: make(chan struct{}), max: o.MaxRequests, versions: map[string]int{}}
	// One keep-alive pool for all workers, as a client population would.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	for range o.Workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(o.Every)
			defer tick.Stop()
			for l.sent.Add(1) <= l.max {
				l.one(client)
				select {
				case <-l.stop:
					return
				case <-l.halted:
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() {
		select {
		case <-time.After(o.MaxTime):
			close(l.halted)
		case <-l.stop:
		}
	}()
	return l
}

func (l *Load) one(c *http.Client) {
	req, _ := http.NewRequest("GET", "http://"+l.addr+"/", nil)
	req.Host = Host
	resp, err := c.Do(req)
	if err != nil {
		l.fail(Failure{Body: err.Error()})
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		l.fail(Failure{Status: resp.StatusCode, Body: "reading the body: " + err.Error()})
		return
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		l.fail(Failure{Status: resp.StatusCode, Body: shorten(string(body)), Version: FailingVersion(string(body))})
		return
	}
	var a struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Version == "" {
		l.fail(Failure{Status: resp.StatusCode, Body: "not hello's answer: " + shorten(string(body))})
		return
	}
	l.lastOK.Store(time.Now().UnixNano())
	l.mu.Lock()
	l.versions[a.Version]++
	l.mu.Unlock()
}

// FailingVersion is the version hello names in a 500 it returns on purpose
// ("hello v3: failing on purpose ..."), or "".
func FailingVersion(body string) string {
	rest, ok := strings.CutPrefix(body, "hello ")
	if !ok {
		return ""
	}
	v, tail, ok := strings.Cut(rest, ": ")
	if !ok || !strings.HasPrefix(tail, "failing on purpose") {
		return ""
	}
	return v
}

func shorten(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (l *Load) fail(f Failure) {
	f.At = time.Now()
	l.mu.Lock()
	l.failures = append(l.failures, f)
	l.mu.Unlock()
}

// LastOK is when the latest successful answer arrived (zero if none).
func (l *Load) LastOK() time.Time {
	n := l.lastOK.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Answered is how many requests hello answered so far.
func (l *Load) Answered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.versions {
		n += c
	}
	return n
}

// LoadReport is what a load run saw.
type LoadReport struct {
	Sent     int64
	Failures []Failure
	Versions map[string]int // answers per hello version
}

// Report is the run so far; Stop ends it.
func (l *Load) Report() LoadReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := make(map[string]int, len(l.versions))
	for k, n := range l.versions {
		v[k] = n
	}
	return LoadReport{Sent: min(l.sent.Load(), l.max), Failures: append([]Failure(nil), l.failures...), Versions: v}
}

// Stop stops the workers, waits for requests in flight and reports.
func (l *Load) Stop() LoadReport {
	l.once.Do(func() { close(l.stop); l.wg.Wait() })
	return l.Report()
}
