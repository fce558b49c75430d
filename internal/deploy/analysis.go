package deploy

import (
	"fmt"
	"time"
)

// Analysis gates a deployment on the router's metrics of the group under
// analysis. The zero Interval, FailureLimit and InconclusiveLimit mean 30s,
// 1 and never.
type Analysis struct {
	// MaxErrorRate is the highest share of 5xx responses, in percentage
	// points; 0: not checked.
	MaxErrorRate float64
	// MaxP99 is the highest p99 latency; 0: not checked.
	MaxP99 time.Duration
	// MinRequests below which a check is inconclusive.
	MinRequests int
	// Interval between checks; the executor samples each group under
	// analysis over this window every Interval.
	Interval time.Duration
	// FailureLimit failed checks roll the deployment back.
	FailureLimit int
	// InconclusiveLimit inconclusive checks in a row pause the deployment
	// for a human.
	InconclusiveLimit int
}

// interval resolves the default. Webhook checks are the executor's: it
// POSTs with each sample and reports the verdict in Sample.WebhookFailure.
func (a Analysis) interval() time.Duration {
	if a.Interval > 0 {
		return a.Interval
	}
	return 30 * time.Second
}

// Sample is one group's figures over the analysis window ending At.
type Sample struct {
	At       time.Time
	Requests int64
	Errors   int64 // 5xx responses
	P99      time.Duration
	// WebhookFailure is the first failed webhook check's reason; "" when
	// all passed or none are declared. WebhookError is set when a check got
	// no answer: the sample is then inconclusive.
	WebhookFailure string
	WebhookError   string
}

// Verdict is one check's outcome.
type Verdict string

const (
	VerdictPass         Verdict = "pass"
	VerdictFail         Verdict = "fail"
	VerdictInconclusive Verdict = "inconclusive"
)

// AnalysisStatus is a deployment's analysis so far.
type AnalysisStatus struct {
	// Group is the router group the executor must sample; "" while
	// nothing is to be analysed.
	Group string `json:"group,omitempty"`
	// Since is when that group started taking the traffic the checks judge;
	// only samples taken after it count.
	Since        time.Time `json:"since,omitzero"`
	Checks       int       `json:"checks,omitempty"`
	Failures     int       `json:"failures,omitempty"`
	Inconclusive int       `json:"inconclusive,omitempty"` // in a row
	// PassedAt is the time of the latest passing sample.
	PassedAt time.Time `json:"passed_at,omitzero"`
	// Last is the latest judged sample and its verdict and reason.
	Last    Sample  `json:"last,omitzero"`
	Verdict Verdict `json:"verdict,omitempty"`
	Reason  string  `json:"reason,omitempty"`
}

// Judge decides one check: inconclusive below min_requests (never a
// failure for lack of traffic), failed when the error rate, the p99 or a
// webhook says so, passed otherwise. It is the whole rollback decision.
func Judge(a Analysis, s Sample) (Verdict, string) {
	if s.WebhookFailure != "" {
		return VerdictFail, "webhook check failed: " + s.WebhookFailure
	}
	if s.WebhookError != "" {
		return VerdictInconclusive, "webhook check gave no answer: " + s.WebhookError
	}
	if s.Requests < int64(a.MinRequests) || s.Requests == 0 {
		return VerdictInconclusive, fmt.Sprintf("%d requests, fewer than the %d needed", s.Requests, max(a.MinRequests, 1))
	}
	if a.MaxErrorRate > 0 {
		if rate := float64(s.Errors) * 100 / float64(s.Requests); rate > a.MaxErrorRate {
			return VerdictFail, fmt.Sprintf("error rate %.2f%% above %.2f%% (%d of %d requests)", rate, a.MaxErrorRate, s.Errors, s.Requests)
		}
	}
	if a.MaxP99 > 0 && s.P99 > a.MaxP99 {
		return VerdictFail, fmt.Sprintf("p99 %s above %s", s.P99, a.MaxP99)
	}
	return VerdictPass, ""
}

// startAnalysis names the group to sample from now on.
func (p *planner) startAnalysis(d *Deployment, group string) {
	if p.s.Params.Analysis == nil || d.Status.Analysis.Group == group {
		return
	}
	d.Status.Analysis.Group = group
	d.Status.Analysis.Since = p.s.Now
	p.depDirty = true
}

// analyze judges the analysed group's newest sample once. It reports false
// when the deployment turned back (failure_limit reached); inconclusive_limit
// checks in a row hold the deployment for a human.
func (p *planner) analyze(d *Deployment) bool {
	a := p.s.Params.Analysis
	st := &d.Status.Analysis
	if a == nil || st.Group == "" {
		return true
	}
	s, ok := p.s.Samples[st.Group]
	if !ok || !s.At.After(st.Since) || !s.At.After(st.Last.At) {
		return true
	}
	v, why := Judge(*a, s)
	st.Checks++
	st.Last, st.Verdict, st.Reason = s, v, why
	p.depDirty = true
	switch v {
	case VerdictPass:
		st.Inconclusive = 0
		st.PassedAt = s.At
	case VerdictInconclusive:
		st.Inconclusive++
		if a.InconclusiveLimit > 0 && st.Inconclusive >= a.InconclusiveLimit && d.Status.Hold == "" {
			p.hold(d, fmt.Sprintf("analysis inconclusive %d times in a row (%s)", st.Inconclusive, why))
		}
	case VerdictFail:
		st.Inconclusive = 0
		st.Failures++
		limit := max(a.FailureLimit, 1)
		p.event(EventAnalysis, d.ID, "", "analysis of %s failed (%d/%d): %s", st.Group, st.Failures, limit, why)
		if st.Failures >= limit {
			p.rollBack(d, fmt.Sprintf("analysis failed %d times: %s", st.Failures, why))
			return false
		}
	}
	return true
}

// passedSince reports whether analysis (when declared) passed a check
// whose whole window lies after t.
func (p *planner) passedSince(d *Deployment, t time.Time) bool {
	a := p.s.Params.Analysis
	if a == nil {
		return true
	}
	return !d.Status.Analysis.PassedAt.Before(t.Add(a.interval()))
}
