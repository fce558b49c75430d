package deploy

import (
	"fmt"
	"strconv"
	"strings"
)

// Quantity is a task count ("2") or a percentage of the desired count
// ("25%"), as written in ferry.yaml. "" means the parameter's default.
type Quantity string

func (q Quantity) parse() (n int, percent bool, err error) {
	s := string(q)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, percent = p, true
	}
	n, err = strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%q is not a count or a percentage (e.g. 2 or 25%%)", string(q))
	}
	return n, percent, nil
}

// of resolves q against count; percentages round up or down as asked.
func (q Quantity) of(count int, roundUp bool) (int, error) {
	n, percent, err := q.parse()
	if err != nil || !percent {
		return n, err
	}
	v := count * n
	if roundUp {
		return (v + 99) / 100, nil
	}
	return v / 100, nil
}

// Budget is a rolling movement's room: how many tasks may run above the
// desired count and how many below it may be unavailable.
type Budget struct {
	Surge       int
	Unavailable int
}

// RollingBudget resolves max_surge and max_unavailable for count the way ECS
// does: surge rounds up, unavailable rounds down, unavailable never exceeds
// count, and surge is at least 1 when unavailable is 0 so a rollout can move.
func RollingBudget(count int, maxSurge, maxUnavailable Quantity) (Budget, error) {
	if maxSurge == "" {
		maxSurge = "25%"
	}
	if maxUnavailable == "" {
		maxUnavailable = "0"
	}
	s, err := maxSurge.of(count, true)
	if err != nil {
		return Budget{}, fmt.Errorf("deploy.max_surge: %w", err)
	}
	u, err := maxUnavailable.of(count, false)
	if err != nil {
		return Budget{}, fmt.Errorf("deploy.max_unavailable: %w", err)
	}
	u = min(u, count)
	if u == 0 {
		s = max(s, 1)
	}
	return Budget{Surge: s, Unavailable: u}, nil
}

// BreakerThreshold is the number of failed tasks of the new revision that
// trips the circuit breaker, as ECS computes it: half the desired count,
// rounded up, clamped to 3..200.
func BreakerThreshold(count int) int {
	return min(max((count+1)/2, 3), 200)
}
