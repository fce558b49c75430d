package notify

import (
	"slices"
	"testing"
)

func TestQueueDropsOldest(t *testing.T) {
	q := queue{max: 2}
	var dropped []string
	for _, d := range []string{"a", "b", "c", "d"} {
		if old, ok := q.push(job{delivery: d}); ok {
			dropped = append(dropped, old.delivery)
		}
	}
	var got []string
	for j, ok := q.pop(); ok; j, ok = q.pop() {
		got = append(got, j.delivery)
	}
	if !slices.Equal(dropped, []string{"a", "b"}) || !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("dropped %v, kept %v; want [a b], [c d]", dropped, got)
	}
}
