package deploy

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func count[A Action](p Plan) int {
	n := 0
	for _, a := range p.Actions {
		if _, ok := a.(A); ok {
			n++
		}
	}
	return n
}

func withoutTaskEvents(ts []EventType) []EventType {
	var out []EventType
	for _, t := range ts {
		switch t {
		case EventTaskFailed, EventTaskUnhealthy:
		default:
			out = append(out, t)
		}
	}
	return out
}

// firstEffect is a plan's first action that is not an event or a record.
func firstEffect(p Plan) Action {
	for _, a := range p.Actions {
		switch a.(type) {
		case Event, SetDeployment, SetService:
		default:
			return a
		}
	}
	return nil
}

func isSwapBack(a Action) bool {
	sw, ok := a.(SetWeights)
	return ok && sw.Weights["main"] == 100 && sw.Weights["r2"] == 0
}
