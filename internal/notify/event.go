package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The deployment events a notification can carry.
const (
	EventStarted    = "started"
	EventStep       = "step"
	EventPaused     = "paused"
	EventSucceeded  = "succeeded"
	EventFailed     = "failed"
	EventRolledBack = "rolled_back"
	EventAborted    = "aborted"
	EventSuperseded = "superseded"
)

// Events are every event name, in lifecycle order.
var Events = []string{EventStarted, EventStep, EventPaused, EventSucceeded, EventFailed,
	EventRolledBack, EventAborted, EventSuperseded}

// aliases are filter names that mean another event: "canceled" is
// CodePipeline's word (and ferry.yaml's) for an aborted deployment.
var aliases = map[string]string{"canceled": EventAborted}

// Event is one deployment event, the JSON body of a notification.
type Event struct {
	Event        string    `json:"event"`
	App          string    `json:"app"`
	Environment  string    `json:"environment"`
	Service      string    `json:"service"`
	Deployment   int64     `json:"deployment"`
	FromRevision int       `json:"from_revision"` // 0 for a first deployment
	ToRevision   int       `json:"to_revision"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	Time         time.Time `json:"time"`
	// Text is a one-line summary for chat tools (Slack's "text" field); Send
	// fills it from the other fields when empty.
	Text string `json:"text"`
}

// Target is one endpoint to notify.
type Target struct {
	URL    string
	Secret string // HMAC key for X-Ferry-Signature-256; "" sends no signature
	// Events is the filter: the event names this endpoint wants; empty means
	// all of them.
	Events []string
}

// Wants reports whether the target's filter lets event through.
func (t Target) Wants(event string) bool {
	if len(t.Events) == 0 {
		return true
	}
	return slices.ContainsFunc(t.Events, func(e string) bool {
		if a, ok := aliases[e]; ok {
			e = a
		}
		return e == event
	})
}

// verbs say each event in the summary line.
var verbs = map[string]string{
	EventStarted:    "started",
	EventStep:       "advanced",
	EventPaused:     "paused",
	EventSucceeded:  "succeeded",
	EventFailed:     "failed",
	EventRolledBack: "rolled back",
	EventAborted:    "aborted",
	EventSuperseded: "superseded",
}

// Summary is the event as one line of Slack mrkdwn, e.g.
// "shop/web in production: deployment 12 rolled back (r3 → r4): error rate 20% > 1%".
func (e Event) Summary() string {
	verb, ok := verbs[e.Event]
	if !ok {
		verb = e.Event
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s", e.App, e.Service)
	if e.Environment != "" {
		fmt.Fprintf(&b, " in %s", e.Environment)
	}
	fmt.Fprintf(&b, ": deployment %d %s", e.Deployment, verb)
	if e.FromRevision > 0 {
		fmt.Fprintf(&b, " (r%d → r%d)", e.FromRevision, e.ToRevision)
	} else {
		fmt.Fprintf(&b, " (r%d)", e.ToRevision)
	}
	if r := strings.Join(strings.Fields(e.Reason), " "); r != "" {
		b.WriteString(": ")
		b.WriteString(r)
	}
	return slackEscape(b.String())
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, so a
// reason cannot forge a link or a mention.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
