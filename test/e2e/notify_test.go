package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/notify"
)

// delivery is one POST a receiver got.
type delivery struct {
	Path, ID, Event string
	Signed          bool // the signature verifies under the path's secret
	Body            notify.Event
}

// receiver is a webhook endpoint on 127.0.0.1: /ok answers 204, /flaky
// answers 500 to its first two requests.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []delivery
	flaky int
}

const notifySecret = "n0tify-s3cret-value"

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{Path: req.URL.Path, ID: req.Header.Get("X-Ferry-Delivery"), Event: req.Header.Get("X-Ferry-Event"),
			Signed: notify.Verify(notifySecret, body, req.Header.Get(notify.SignatureHeader))}
		if err := json.Unmarshal(body, &d.Body); err != nil {
			t.Errorf("a notification body is not an event: %v: %s", err, body)
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		fail := req.URL.Path == "/flaky" && r.flaky < 2
		if fail {
			r.flaky++
		}
		r.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries(path string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.Path == path {
			out = append(out, d)
		}
	}
	return out
}

// eventsOf are the event names path received for deployment dep, in order.
func (r *receiver) eventsOf(path string, dep int64) []string {
	var out []string
	for _, d := range r.deliveries(path) {
		if d.Body.Deployment == dep {
			out = append(out, d.Event)
		}
	}
	return out
}

// withNotifications appends a notifications: block to the app's ferry.yaml.
func withNotifications(t *testing.T, app helloApp, block string) {
	t.Helper()
	f, err := os.OpenFile(app.File, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(block); err != nil {
		t.Fatal(err)
	}
}

// TestNotifications: a deploy and a rolled-back deploy deliver their
// events, signed, to every target; a failing receiver gets the same
// delivery again until it answers; the secret is shown nowhere.
func TestNotifications(t *testing.T) {
	home := shortFerryHome(t)
	app := newHelloApp(t, home)
	rcv := newReceiver(t)
	block := fmt.Sprintf(`notifications:
  - url: %s/ok
    secret: %s
  - url: %s/flaky
    secret: %s
    events: [started, rolled_back]
`, rcv.URL, notifySecret, rcv.URL, notifySecret)
	writeStrategy(t, app, 1, map[string]string{"HELLO_VERSION": "v1"}, `{strategy: rolling}`, "")
	withNotifications(t, app, block)
	addr := upHello(t, home, app)
	answersVersion(t, addr, "v1")
	first := deploymentOf(t, app.Dir, home, 0)

	writeStrategy(t, app, 1, map[string]string{"HELLO_VERSION": "v2"},
		`{strategy: blue_green, auto_promote: true}`, `{before_traffic: {command: [sh, -c, "exit 3"], timeout: 10s}}`)
	withNotifications(t, app, block)
	if r := ferry(t, app.Dir, home, nil, "deploy"); r.Code == 0 {
		t.Fatalf("deploy v2 with a failing before_traffic hook exited 0\n%s", r.Stdout)
	}
	second := deploymentOf(t, app.Dir, home, first)

	eventually(t, 30*time.Second, "every notification delivered", func() (bool, string) {
		ok1, ok2 := rcv.eventsOf("/ok", first), rcv.eventsOf("/ok", second)
		fl := rcv.eventsOf("/flaky", second)
		done := slices.Contains(ok1, "succeeded") && slices.Contains(ok2, "rolled_back") &&
			len(rcv.deliveries("/flaky")) >= 2+3
		return done && slices.Contains(fl, "rolled_back"), fmt.Sprintf("/ok: %v then %v; /flaky: %v", ok1, ok2, rcv.deliveries("/flaky"))
	})
	if got := rcv.eventsOf("/ok", first); !slices.Equal(got, []string{"started", "succeeded"}) {
		t.Errorf("the first deployment sent %v, want [started succeeded]", got)
	}
	got := rcv.eventsOf("/ok", second)
	if len(got) < 2 || got[0] != "started" || got[len(got)-1] != "rolled_back" {
		t.Errorf("the rolled-back deployment sent %v, want started … rolled_back", got)
	}
	for _, d := range rcv.deliveries("/ok") {
		if !d.Signed || d.ID == "" || d.Body.Event != d.Event || d.Body.App != "hello" || d.Body.Service != "web" ||
			d.Body.Text == "" {
			t.Errorf("delivery %+v: want signed, with an id, and the event in header and body", d)
		}
	}

	// /flaky wants started and rolled_back only; its first delivery failed
	// twice and was retried with the same id.
	fl := rcv.deliveries("/flaky")
	if len(fl) < 3 || fl[0].ID != fl[1].ID || fl[1].ID != fl[2].ID || fl[0].Event != "started" || fl[0].Body.Deployment != first {
		t.Fatalf("/flaky got %+v; want the first deployment's started three times with one delivery id", fl)
	}
	ids := map[string]bool{}
	for _, d := range fl {
		if !d.Signed {
			t.Errorf("/flaky delivery %s is not signed", d.ID)
		}
		if d.Event != "started" && d.Event != "rolled_back" {
			t.Errorf("/flaky got %s, which its filter leaves out", d.Event)
		}
		ids[d.ID] = true
	}
	if len(ids) != 3 { // started of the first (3 attempts), started and rolled_back of the second
		t.Errorf("/flaky got %d distinct deliveries, want 3 (%+v)", len(ids), fl)
	}

	for _, args := range [][]string{{"status", "-o", "json"}, {"events", "-o", "json"}, {"revisions", "web", "-o", "json"}} {
		if r := mustFerry(t, app.Dir, home, nil, args...); strings.Contains(r.Stdout+r.Stderr, notifySecret) {
			t.Errorf("ferry %s shows the notification secret", strings.Join(args, " "))
		}
	}
}
