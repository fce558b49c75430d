package notify

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// result is what one delivery attempt got back: a transport error or a
// status with its Retry-After header.
type result struct {
	final      bool // the request could not even be made: retrying cannot help
	err        error
	status     int
	retryAfter string
}

// plan decides what follows attempt number attempt (1-based): wait that long
// and retry, or stop. Network errors, 5xx and 429 are worth retrying; any
// other status is the receiver's final word. A retry is only planned if it
// fits both the attempt budget and the delivery's deadline: a Retry-After
// beyond the deadline ends the delivery rather than being cut short.
func plan(r result, attempt, maxAttempts int, base, maxDelay time.Duration, now, deadline time.Time) (wait time.Duration, retry bool) {
	if !retryable(r) || attempt >= maxAttempts {
		return 0, false
	}
	wait = backoff(attempt, base, maxDelay)
	if ra, ok := parseRetryAfter(r.retryAfter, now); ok && ra > wait {
		wait = ra
	}
	if now.Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

func retryable(r result) bool {
	if r.final {
		return false
	}
	if r.err != nil {
		return true
	}
	return r.status >= 500 || r.status == http.StatusTooManyRequests
}

// backoff is base doubled for each attempt already made, capped at maxDelay.
func backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
