package router

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

const (
	// windowSlots one-second slots: the longest window is five minutes.
	windowSlots = 300
	// latBins: log-linear latency bins, four per power of two of
	// microseconds up to ~67 s (≤ 19% relative error on a percentile).
	latBins = 27 * 4
)

// slot holds one second of figures.
type slot struct {
	sec    int64
	status [5]uint32 // 1xx..5xx
	lat    [latBins]uint32
}

// metrics are one service's or group's figures: a sliding window of
// per-second slots for the deploy engine, plus cumulative totals for
// Prometheus. The zero value is ready to use.
type metrics struct {
	mu    sync.Mutex
	slots *[windowSlots]slot // allocated on first request

	inflight atomic.Int64
	total    [5]atomic.Uint64
	promLat  [len(promBuckets) + 1]atomic.Uint64
	latSumNs atomic.Uint64
}

func latBin(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us == 0 {
		return 0
	}
	e := bits.Len64(us) - 1
	i := e*4 + int((us<<2>>e)&3)
	if i >= latBins {
		return latBins - 1
	}
	return i
}

// latUpper is the upper bound of a bin, the conservative value reported.
func latUpper(i int) time.Duration {
	e, m := i/4, uint64(i%4)
	return time.Duration(((4+m+1)<<e)>>2) * time.Microsecond
}

func statusIndex(code int) int {
	i := code/100 - 1
	if i < 0 || i > 4 {
		return 4
	}
	return i
}

func (m *metrics) record(now time.Time, code int, d time.Duration) {
	si := statusIndex(code)
	m.total[si].Add(1)
	m.latSumNs.Add(uint64(d))
	m.promLat[promBin(d)].Add(1)
	sec := now.Unix()
	bin := latBin(d)
	m.mu.Lock()
	if m.slots == nil {
		m.slots = new([windowSlots]slot)
	}
	s := &m.slots[sec%windowSlots]
	if s.sec != sec {
		*s = slot{sec: sec}
	}
	s.status[si]++
	s.lat[bin]++
	m.mu.Unlock()
}

// reset clears the window (not the Prometheus totals): the deploy engine
// starts an analysis interval afresh.
func (m *metrics) reset() {
	m.mu.Lock()
	m.slots = nil
	m.mu.Unlock()
}

// window sums the last `window` seconds (the current one included).
func (m *metrics) window(now time.Time, window time.Duration) api.Metrics {
	if window <= 0 || window > windowSlots*time.Second {
		window = windowSlots * time.Second
	}
	out := api.Metrics{Window: window, Status: map[string]int64{}, InFlight: m.inflight.Load()}
	var status [5]uint64
	var lat [latBins]uint64
	secs := int64((window + time.Second - 1) / time.Second)
	cur := now.Unix()
	m.mu.Lock()
	if m.slots != nil {
		for sec := cur - secs + 1; sec <= cur; sec++ {
			s := &m.slots[((sec%windowSlots)+windowSlots)%windowSlots]
			if s.sec != sec {
				continue
			}
			for i, v := range s.status {
				status[i] += uint64(v)
			}
			for i, v := range s.lat {
				lat[i] += uint64(v)
			}
		}
	}
	m.mu.Unlock()
	for i, v := range status {
		out.Requests += int64(v)
		if v > 0 {
			out.Status[string(rune('1'+i))+"xx"] = int64(v)
		}
	}
	if out.Requests > 0 {
		out.ErrorRate = float64(status[4]) / float64(out.Requests)
		out.P50 = percentile(&lat, out.Requests, 0.50)
		out.P90 = percentile(&lat, out.Requests, 0.90)
		out.P99 = percentile(&lat, out.Requests, 0.99)
	}
	return out
}

func percentile(lat *[latBins]uint64, n int64, q float64) time.Duration {
	rank := uint64(float64(n)*q + 0.5)
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i, v := range lat {
		cum += v
		if cum >= rank {
			return latUpper(i)
		}
	}
	return latUpper(latBins - 1)
}
