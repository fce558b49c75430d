package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// loadOptions bound a load run; startLoad's defaults for a test are 4
// workers, a request every 10ms each, at most 30000 requests and 2 minutes,
// so a test that forgets to stop it (or a deploy that hangs) cannot make it
// run unbounded.
type loadOptions = rig.LoadOptions

// load is the chaos rig's load through the router (rig.Load), bounded for a
// test and stopped when the test ends.
type load struct {
	*rig.Load
	start time.Time
}

// startLoad starts the workers; the test's cleanup stops them.
func startLoad(t *testing.T, addr string, o loadOptions) *load {
	t.Helper()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 30000
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 2 * time.Minute
	}
	l := &load{Load: rig.StartLoad(addr, o), start: time.Now()}
	t.Cleanup(func() { l.Stop() })
	return l
}

// expectNoFailures stops the load and fails the test for every failed
// request, and when too few were sent to mean anything.
func (l *load) expectNoFailures(t *testing.T, minSent int) rig.LoadReport {
	t.Helper()
	r := l.Stop()
	took := time.Since(l.start)
	if len(r.Failures) > 0 {
		lines := make([]string, 0, len(r.Failures))
		for _, f := range r.Failures {
			lines = append(lines, f.String())
		}
		t.Errorf("%d of %d requests failed through the router:\n%s", len(r.Failures), r.Sent, strings.Join(lines, "\n"))
	}
	if r.Sent < int64(minSent) {
		t.Errorf("only %d requests sent in %s, want at least %d for the run to mean anything", r.Sent, took, minSent)
	}
	t.Logf("load: %d requests in %s, answers per version %v", r.Sent, took.Round(time.Millisecond), r.Versions)
	return r
}
