package notify

import "testing"

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{"first deployment", Event{Event: EventStarted, App: "shop", Environment: "staging", Service: "web", Deployment: 1, ToRevision: 1},
			"shop/web in staging: deployment 1 started (r1)"},
		{"rollback with reason", Event{Event: EventRolledBack, App: "shop", Environment: "production", Service: "web", Deployment: 12,
			FromRevision: 3, ToRevision: 4, Reason: "error rate 20% > 1%"},
			"shop/web in production: deployment 12 rolled back (r3 → r4): error rate 20% &gt; 1%"},
		{"multi-line reason folded", Event{Event: EventFailed, App: "a", Service: "s", Deployment: 2, FromRevision: 1, ToRevision: 2,
			Reason: "hook failed:\n  exit 1\n"},
			"a/s: deployment 2 failed (r1 → r2): hook failed: exit 1"},
		{"mrkdwn cannot forge a link", Event{Event: EventAborted, App: "a", Service: "s", Deployment: 3, ToRevision: 2,
			Reason: "<https://evil|click> & <!channel>"},
			"a/s: deployment 3 aborted (r2): &lt;https://evil|click&gt; &amp; &lt;!channel&gt;"},
		{"step", Event{Event: EventStep, App: "a", Service: "s", Deployment: 4, FromRevision: 1, ToRevision: 2, Reason: "weight 50%"},
			"a/s: deployment 4 advanced (r1 → r2): weight 50%"},
		{"unknown event named as is", Event{Event: "weird", App: "a", Service: "s", Deployment: 5, ToRevision: 1},
			"a/s: deployment 5 weird (r1)"},
	} {
		if got := tc.ev.Summary(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestTargetWants(t *testing.T) {
	for _, tc := range []struct {
		filter []string
		event  string
		want   bool
	}{
		{nil, EventStep, true},
		{[]string{}, EventSuperseded, true},
		{[]string{"succeeded", "failed"}, EventFailed, true},
		{[]string{"succeeded", "failed"}, EventStarted, false},
		{[]string{"canceled"}, EventAborted, true},
		{[]string{"canceled"}, EventFailed, false},
		{[]string{"aborted"}, EventAborted, true},
	} {
		if got := (Target{Events: tc.filter}).Wants(tc.event); got != tc.want {
			t.Errorf("filter %v, event %s: got %v, want %v", tc.filter, tc.event, got, tc.want)
		}
	}
}
