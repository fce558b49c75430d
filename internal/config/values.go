package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CountOrPercent is "2" (a number of tasks) or "25%" (of the service's count).
type CountOrPercent struct {
	N         int     // when !IsPercent
	Percent   float64 // percentage points when IsPercent (25 = 25%)
	IsPercent bool
}

func (c CountOrPercent) String() string {
	if c.IsPercent {
		return formatPercent(c.Percent)
	}
	return strconv.Itoa(c.N)
}

func formatPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// parsePercent parses "1%" or "0.5%" into percentage points within 0-100.
func parsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, fmt.Errorf("invalid percentage %q: write a number followed by %%, e.g. 1%% or 0.5%%", s)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) {
		return 0, fmt.Errorf("invalid percentage %q: write a number followed by %%, e.g. 1%% or 0.5%%", s)
	}
	if p < 0 || p > 100 {
		return 0, fmt.Errorf("percentage %q out of range: must be between 0%% and 100%%", s)
	}
	return p, nil
}

// parseDuration parses a Go duration ("1s", "5m", "1h30m"), not negative.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: write a number with a unit, e.g. 500ms, 30s, 5m or 1h", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

var memoryRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(|[KMGT]i?|[kmgt]|[KMGT]B)$`)

// parseMemory parses a size: a byte count, or a number with a decimal
// (K, M, G, T) or binary (Ki, Mi, Gi, Ti) unit.
func parseMemory(s string) (int64, error) {
	m := memoryRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid memory size %q: write bytes or a number with a unit, e.g. 512Mi or 1G", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1,
		"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}[m[2]]
	b := v * mult
	if b > math.MaxInt64/2 {
		return 0, fmt.Errorf("memory size %q is too large", s)
	}
	return int64(b), nil
}

// ParseSize parses a size in bytes as limits.memory is written: a byte
// count, or a number with a decimal or binary unit (e.g. 512Mi, 4G).
func ParseSize(s string) (int64, error) {
	b, err := parseMemory(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: write bytes or a number with a unit, e.g. 512Mi or 4Gi", s)
	}
	return b, nil
}

// formatMemory is the inverse of parseMemory, in the largest exact binary unit.
func formatMemory(b int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(b/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

// StatusRange is an inclusive range of HTTP status codes that count as
// healthy ("200-399" or "200").
type StatusRange struct{ Min, Max int }

// Contains reports whether code is in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Min && code <= r.Max }

func (r StatusRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

func parseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
		return StatusRange{}, fmt.Errorf("invalid status range %q: write a code or a range of codes between 100 and 599, e.g. 200-399", s)
	}
	return StatusRange{a, b}, nil
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	hostRe   = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// IsDNSLabel reports whether s can be one label of a host name (lower case).
func IsDNSLabel(s string) bool { return dnsLabel.MatchString(s) }

func validHost(h string) bool { return len(h) <= 253 && hostRe.MatchString(h) }
