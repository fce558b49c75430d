package notify

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt   int
		base, max time.Duration
		want      time.Duration
	}{
		{1, time.Second, 30 * time.Second, time.Second},
		{2, time.Second, 30 * time.Second, 2 * time.Second},
		{4, time.Second, 30 * time.Second, 8 * time.Second},
		{6, time.Second, 30 * time.Second, 30 * time.Second},
		{60, time.Second, 30 * time.Second, 30 * time.Second}, // no overflow
		{1, time.Minute, time.Second, time.Second},
	} {
		if got := backoff(tc.attempt, tc.base, tc.max); got != tc.want {
			t.Errorf("backoff(%d, %s, %s) = %s, want %s", tc.attempt, tc.base, tc.max, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := parseRetryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	far := now.Add(time.Hour)
	netErr := errors.New("connection refused")
	for _, tc := range []struct {
		name     string
		r        result
		attempt  int
		deadline time.Time
		wait     time.Duration
		retry    bool
	}{
		{"network error retried", result{err: netErr}, 1, far, 100 * time.Millisecond, true},
		{"500 retried with doubling", result{status: 500}, 3, far, 400 * time.Millisecond, true},
		{"503 retried", result{status: 503}, 1, far, 100 * time.Millisecond, true},
		{"429 retried", result{status: 429}, 1, far, 100 * time.Millisecond, true},
		{"400 final", result{status: 400}, 1, far, 0, false},
		{"404 final", result{status: 404}, 1, far, 0, false},
		{"410 final", result{status: 410}, 1, far, 0, false},
		{"301 final", result{status: 301}, 1, far, 0, false},
		{"invalid request final", result{final: true, err: netErr}, 1, far, 0, false},
		{"attempts exhausted", result{status: 500}, 5, far, 0, false},
		{"Retry-After longer than backoff wins", result{status: 429, retryAfter: "2"}, 1, far, 2 * time.Second, true},
		{"Retry-After shorter than backoff ignored", result{status: 503, retryAfter: "0"}, 2, far, 200 * time.Millisecond, true},
		{"Retry-After beyond deadline gives up", result{status: 429, retryAfter: "120"}, 1, now.Add(time.Minute), 0, false},
		{"backoff beyond deadline gives up", result{status: 500}, 1, now.Add(50 * time.Millisecond), 0, false},
		{"Retry-After beyond max delay honoured", result{status: 429, retryAfter: "60"}, 1, far, time.Minute, true},
	} {
		wait, retry := plan(tc.r, tc.attempt, 5, 100*time.Millisecond, 10*time.Second, now, tc.deadline)
		if wait != tc.wait || retry != tc.retry {
			t.Errorf("%s: plan = %s, %v; want %s, %v", tc.name, wait, retry, tc.wait, tc.retry)
		}
	}
}
