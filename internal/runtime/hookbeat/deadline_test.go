package hookbeat

import (
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type look struct{ mtime, now time.Duration } // offsets from t0; mtime -1 = file gone
	for _, tc := range []struct {
		name      string
		base, max time.Duration
		looks     []look
		want      time.Duration // deadline, from t0
		capped    bool
	}{
		{"no beat: base from start", 10 * time.Second, time.Minute, []look{{0, 5 * time.Second}}, 10 * time.Second, false},
		{"beat moves deadline to beat+base", 10 * time.Second, time.Minute, []look{{8 * time.Second, 9 * time.Second}}, 18 * time.Second, false},
		{"latest of several beats counts", 10 * time.Second, time.Minute,
			[]look{{8 * time.Second, 9 * time.Second}, {15 * time.Second, 16 * time.Second}}, 25 * time.Second, false},
		{"capped at max", 10 * time.Second, 30 * time.Second,
			[]look{{15 * time.Second, 16 * time.Second}, {25 * time.Second, 26 * time.Second}}, 30 * time.Second, true},
		{"max below base: no extension", 10 * time.Second, time.Second, []look{{8 * time.Second, 9 * time.Second}}, 10 * time.Second, true},
		{"zero max: no extension", 10 * time.Second, 0, []look{{8 * time.Second, 9 * time.Second}}, 10 * time.Second, true},
		{"future mtime counts as now", 10 * time.Second, time.Minute, []look{{time.Hour, 5 * time.Second}}, 15 * time.Second, false},
		{"backdated mtime earns nothing", 10 * time.Second, time.Minute,
			[]look{{8 * time.Second, 9 * time.Second}, {2 * time.Second, 12 * time.Second}}, 18 * time.Second, false},
		{"unchanged mtime is no beat", 10 * time.Second, time.Minute, []look{{-2, 9 * time.Second}}, 10 * time.Second, false},
		{"missing file is no beat", 10 * time.Second, time.Minute, []look{{-1, 9 * time.Second}}, 10 * time.Second, false},
	} {
		created := at(-time.Second) // the file's mtime when the watch began
		d := newDeadline(t0, tc.base, tc.max, created)
		for _, l := range tc.looks {
			var m time.Time
			switch l.mtime {
			case -1:
			case -2:
				m = created
			default:
				m = at(l.mtime)
			}
			d = d.observe(m, at(l.now))
		}
		if got := d.at(); !got.Equal(at(tc.want)) || d.capped() != tc.capped {
			t.Errorf("%s: deadline t0+%s capped=%v, want t0+%s capped=%v", tc.name, got.Sub(t0), d.capped(), tc.want, tc.capped)
		}
	}
}
