package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadFailure is one request of a load run that did not get a 2xx answer.
type loadFailure struct {
	At     time.Duration // since the load started
	Status int           // 0 for a transport error
	Err    string        // the transport error, or the answer's body
}

func (f loadFailure) String() string {
	if f.Status == 0 {
		return fmt.Sprintf("+%s: %s", f.At.Round(time.Millisecond), f.Err)
	}
	return fmt.Sprintf("+%s: status %d: %s", f.At.Round(time.Millisecond), f.Status, f.Err)
}

// loadReport is what a load run saw.
type loadReport struct {
	Sent     int
	Failures []loadFailure
	Versions map[string]int // answers per version of hello
	Took     time.Duration
}

// load sends GETs for hello.localhost through the router from several
// workers until stopped, until max requests were sent, or until max time
// passed, whichever comes first, so a test that forgets to stop it (or a
// deploy that hangs) cannot make it run unbounded.
type load struct {
	addr  string
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	sent     int
	budget   int
	failures []loadFailure
	versions map[string]int
	once     sync.Once
	report   loadReport
}

// loadOptions bound a load run; the zero value is 4 workers, a request
// every 10ms each, at most 30000 requests and 2 minutes.
type loadOptions struct {
	Workers     int
	Every       time.Duration
	MaxRequests int
	MaxTime     time.Duration
}

// startLoad starts the workers; the test's cleanup stops them.
func startLoad(t *testing.T, addr string, o loadOptions) *load {
	t.Helper()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Millisecond
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 30000
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 2 * time.Minute
	}
	l := &load{addr: addr, start: time.Now(), stop: make(chan struct{}), budget: o.MaxRequests, versions: map[string]int{}}
	// One connection pool for all workers, as a real client population
	// reusing keep-alive connections through the router would.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Workers}}
	deadline := time.NewTimer(o.MaxTime)
	for range o.Workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(o.Every)
			defer tick.Stop()
			for l.take() {
				l.one(client)
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() {
		select {
		case <-deadline.C:
			l.halt()
		case <-l.stop:
			deadline.Stop()
		}
	}()
	t.Cleanup(func() { l.Stop() })
	return l
}

func (l *load) halt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.budget = 0
}

// take reserves one request of the budget.
func (l *load) take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent >= l.budget {
		return false
	}
	l.sent++
	return true
}

func (l *load) one(c *http.Client) {
	req, _ := http.NewRequest("GET", "http://"+l.addr+"/", nil)
	req.Host = "hello.localhost"
	resp, err := c.Do(req)
	if err != nil {
		l.fail(loadFailure{Err: err.Error()})
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		l.fail(loadFailure{Status: resp.StatusCode, Err: "reading the body: " + err.Error()})
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		l.fail(loadFailure{Status: resp.StatusCode, Err: strings.TrimSpace(string(body))})
	default:
		var a helloAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			l.fail(loadFailure{Status: resp.StatusCode, Err: fmt.Sprintf("not hello's answer: %q", body)})
			return
		}
		l.mu.Lock()
		l.versions[a.Version]++
		l.mu.Unlock()
	}
}

func (l *load) fail(f loadFailure) {
	f.At = time.Since(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, f)
}

// answered is how many requests got an answer from hello so far.
func (l *load) answered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.versions {
		n += c
	}
	return n
}

// Stop stops the workers, waits for requests in flight and reports.
func (l *load) Stop() loadReport {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.report = loadReport{Sent: l.sent, Failures: l.failures, Versions: l.versions, Took: time.Since(l.start)}
	})
	return l.report
}

// expectNoFailures stops the load and fails the test for every failed
// request, and when too few were sent to mean anything.
func (l *load) expectNoFailures(t *testing.T, minSent int) loadReport {
	t.Helper()
	r := l.Stop()
	if len(r.Failures) > 0 {
		lines := make([]string, 0, len(r.Failures))
		for _, f := range r.Failures {
			lines = append(lines, f.String())
		}
		t.Errorf("%d of %d requests failed through the router:\n%s", len(r.Failures), r.Sent, strings.Join(lines, "\n"))
	}
	if r.Sent < minSent {
		t.Errorf("only %d requests sent in %s, want at least %d for the run to mean anything", r.Sent, r.Took, minSent)
	}
	t.Logf("load: %d requests in %s, answers per version %v", r.Sent, r.Took.Round(time.Millisecond), r.Versions)
	return r
}
