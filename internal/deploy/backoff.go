package deploy

import "time"

// Backoff paces the replacement of crashed tasks of the live revision. The
// zero value means: 1s doubling to 1m, reset once a replacement stayed
// healthy for 30s, crash loop reported after 5 crashes in a row.
type Backoff struct {
	Initial        time.Duration
	Max            time.Duration
	ResetAfter     time.Duration
	CrashLoopAfter int
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = time.Minute
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = 30 * time.Second
	}
	if b.CrashLoopAfter <= 0 {
		b.CrashLoopAfter = 5
	}
	return b
}

// Delay is how long to wait after the crashes-th crash in a row before
// starting a replacement: Initial·2^(crashes-1), capped at Max.
func (b Backoff) Delay(crashes int) time.Duration {
	b = b.withDefaults()
	if crashes <= 0 {
		return 0
	}
	d := b.Initial
	for i := 1; i < crashes && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
