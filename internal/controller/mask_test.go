package controller

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// TestSecretInsideALongerValueIsMaskedEverywhere: the caller sends the
// secret's value, the spec holds it inside a longer env value, and the
// task's pre_stop hook prints it. It never shows in the trace, the status,
// the revisions' masked specs or an error, while what surrounds it does.
func TestSecretInsideALongerValueIsMaskedEverywhere(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pw"
	e := newEnv(t)
	e.start()
	ctx := context.Background()
	v1 := web(1, false, "HELLO_VERSION=v1", "DB=postgres://app:"+secret+"@db/shop")
	v1.Hooks.PreStop = &config.Hook{Command: []string{"sh", "-c", "echo flushing to $DB"}, Timeout: 5 * time.Second}
	d1 := e.deploy(v1, secret)
	if err := e.wait(d1.Deployment); err != nil {
		t.Fatal(err)
	}
	// v2 replaces the task: its hook runs and its output enters the trace.
	v2 := v1
	v2.Env = map[string]string{"HELLO_VERSION": "v2", "DB": "postgres://app:" + secret + "@db/shop"}
	d2 := e.deploy(v2, secret)
	if err := e.wait(d2.Deployment); err != nil {
		t.Fatal(err)
	}

	var seen []string
	waitFor(t, 10*time.Second, func() (bool, string) {
		evs, err := e.store.ListEvents(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		hook := false
		for _, ev := range evs {
			seen = append(seen, ev.Message)
			hook = hook || (ev.Type == EventTaskHook && strings.Contains(ev.Message, "flushing to postgres://app:***@db/shop"))
		}
		return hook, "the pre_stop hook's output, masked, in the trace"
	})
	st, err := e.ctl.Status(ctx, "hello", "production")
	if err != nil {
		t.Fatal(err)
	}
	status, _ := json.Marshal(st)
	revs, err := e.store.ListRevisions(ctx, d1.ServiceID, 0)
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{"events": strings.Join(seen, "\n"), "status": string(status)}
	for _, r := range revs {
		shown["masked spec"] += string(r.MaskedSpec)
		if !strings.Contains(string(r.MaskedSpec), "postgres://app:***@db/shop") {
			t.Errorf("masked spec of r%d lacks the masked value: %s", r.Number, r.MaskedSpec)
		}
	}
	// A refused request names the bad value, masked.
	bad := v2
	bad.Runtime = "docker-" + secret
	_, err = e.ctl.Deploy(ctx, DeployRequest{App: "hello", Environment: "production",
		Services: map[string]config.Service{"web": bad}, Secrets: []string{secret}, Artifact: e.artifact})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `runtime "docker-***"`) {
		t.Errorf("deploy with a bad runtime: %v, want ErrInvalid naming the masked runtime", err)
	}
	shown["error"] = err.Error()
	for where, text := range shown {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the secret:\n%s", where, text)
		}
	}
}
