package soak

import (
	"math"
	"sort"
	"testing"
)

// growth fits a least-squares line through the samples after the first
// warm of them and returns how much it rises from the first kept sample to
// the last: a bounded resource gives a flat line (noise aside), a leak a
// line that keeps rising.
func growth(samples []float64, warm int) float64 {
	xs := samples[min(warm, len(samples)):]
	n := float64(len(xs))
	if n < 3 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i, y := range xs {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return slope * (n - 1)
}

// unbounded reports whether samples grow by more than the larger of abs
// and rel times their median after warm-up.
func unbounded(samples []float64, warm int, abs, rel float64) (bool, float64) {
	g := growth(samples, warm)
	return g > math.Max(abs, rel*median(samples[min(warm, len(samples)):])), g
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestUnbounded(t *testing.T) {
	tests := []struct {
		name     string
		samples  []float64
		warm     int
		abs, rel float64
		want     bool
	}{
		{"flat", []float64{10, 10, 10, 10, 10, 10}, 1, 2, 0.1, false},
		{"noisy but flat", []float64{10, 12, 9, 11, 10, 12, 9, 11}, 1, 2, 0.1, false},
		{"one fd per sample", []float64{10, 11, 12, 13, 14, 15, 16, 17}, 1, 2, 0.1, true},
		{"warm-up growth only", []float64{5, 50, 100, 100, 101, 100, 100, 101}, 2, 2, 0.1, false},
		{"slow rise within tolerance", []float64{100, 100, 101, 101, 102, 102}, 0, 5, 0.1, false},
		{"too few samples to tell", []float64{1, 100}, 0, 1, 0, false},
		{"RSS doubling", []float64{20e6, 25e6, 30e6, 35e6, 40e6}, 0, 8e6, 0.25, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, g := unbounded(tt.samples, tt.warm, tt.abs, tt.rel); got != tt.want {
				t.Fatalf("unbounded(%v) = %v (growth %.1f), want %v", tt.samples, got, g, tt.want)
			}
		})
	}
}
