package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// breakDir makes writes into dir fail, even for root: the directory moves
// aside and a regular file takes its name (creating a file under it gives
// ENOTDIR). The returned func puts the directory back.
func breakDir(t *testing.T, dir string) (repair func()) {
	t.Helper()
	aside := dir + ".aside"
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(aside, dir); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSaved waits until the state file records every target healthy: the
// health saver writes asynchronously.
func waitSaved(t *testing.T, path string) []byte {
	t.Helper()
	var b []byte
	waitFor(t, "the state file to record every target healthy", 5*time.Second, func() bool {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return false
		}
		var st state
		if json.Unmarshal(b, &st) != nil {
			return false
		}
		for _, s := range st.Services {
			for _, g := range s.Groups {
				for _, tg := range g.Targets {
					if tg.Health != api.TargetHealthy {
						return false
					}
				}
			}
		}
		return true
	})
	return b
}

// TestFailedSaveChangesNothing: every admin change whose state file cannot
// be written fails with an error naming the file and the cause, and leaves
// the table served, the table reported and the file exactly as they were.
// Once the file can be written again, the same call applies and is saved.
func TestFailedSaveChangesNothing(t *testing.T) {
	const svc = "shop/prod/web"
	cases := []struct {
		name   string
		change func(rt *Router, b2 *backend) error
		// saved checks the state file after the change succeeded.
		saved func(st state) bool
	}{
		{"put a new service", func(rt *Router, _ *backend) error {
			return rt.PutService(api.Service{Name: "shop/prod/api", Routes: []api.Route{{Host: "api.test"}}})
		}, func(st state) bool { return len(st.Services) == 2 }},
		{"change a service's routes", func(rt *Router, _ *backend) error {
			return rt.PutService(api.Service{Name: svc, Routes: []api.Route{{Host: "new.test"}}, Health: fastHealth})
		}, func(st state) bool { return st.Services[0].Routes[0].Host == "new.test" }},
		{"delete the service", func(rt *Router, _ *backend) error {
			_, err := rt.DeleteService(svc)
			return err
		}, func(st state) bool { return len(st.Services) == 0 }},
		{"set targets", func(rt *Router, b2 *backend) error {
			_, err := rt.SetTargets(svc, "v1", []api.Target{b2.target()})
			return err
		}, func(st state) bool { return st.Services[0].Groups[0].Targets[0].ID == "b2" }},
		{"set targets of a new group", func(rt *Router, b2 *backend) error {
			_, err := rt.SetTargets(svc, "v2", []api.Target{b2.target()})
			return err
		}, func(st state) bool { return len(st.Services[0].Groups) == 2 }},
		{"add a target", func(rt *Router, b2 *backend) error {
			return rt.AddTarget(svc, "v1", b2.target())
		}, func(st state) bool { return len(st.Services[0].Groups[0].Targets) == 2 }},
		{"add a target to a new group", func(rt *Router, b2 *backend) error {
			return rt.AddTarget(svc, "v2", b2.target())
		}, func(st state) bool { return len(st.Services[0].Groups) == 2 }},
		{"remove a target", func(rt *Router, _ *backend) error {
			_, err := rt.RemoveTarget(svc, "v1", "b1")
			return err
		}, func(st state) bool { return len(st.Services[0].Groups[0].Targets) == 0 }},
		{"remove a group", func(rt *Router, _ *backend) error {
			_, err := rt.RemoveGroup(svc, "v1")
			return err
		}, func(st state) bool { return len(st.Services[0].Groups) == 0 }},
		{"set weights", func(rt *Router, _ *backend) error {
			return rt.SetWeights(svc, map[string]int{"v1": 40})
		}, func(st state) bool { return st.Services[0].Groups[0].Weight == 40 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "home")
			os.Mkdir(dir, 0o700)
			path := filepath.Join(dir, "router.state.json")
			b1, b2 := newBackend(t, "b1"), newBackend(t, "b2")
			rt, base := startRouter(t, Options{StatePath: path})
			mustSetup(t, rt, api.Service{Name: svc, Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth},
				map[string][]*backend{"v1": {b1}})
			if err := rt.SetWeights(svc, map[string]int{"v1": 100}); err != nil {
				t.Fatal(err)
			}
			before := waitSaved(t, path)
			served := rt.Services()

			repair := breakDir(t, dir)
			err := tc.change(rt, b2)
			if !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), path) {
				t.Fatalf("change with an unwritable state file: %v, want ErrStorage naming %s and ENOTDIR", err, path)
			}
			if got := rt.Services(); !reflect.DeepEqual(got, served) {
				t.Fatalf("a refused change altered the table:\n got %+v\nwant %+v", got, served)
			}
			for _, host := range []string{"web.test", "new.test", "api.test"} {
				code, body, _ := get(t, http.DefaultClient, base, host, "/")
				if want := (host == "web.test"); (code == 200 && body == "b1") != want {
					t.Fatalf("after a refused change, %s answers %d %q", host, code, body)
				}
			}
			repair()
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Fatalf("a refused change altered the state file:\n%s\nwas\n%s", after, before)
			}

			if err := tc.change(rt, b2); err != nil {
				t.Fatalf("the same change once the file is writable: %v", err)
			}
			st, err := loadState(path)
			if err != nil || !tc.saved(st) {
				t.Fatalf("state file after the change: %+v %v", st, err)
			}
		})
	}
}

// TestAdminReportsUnsavedState: through the admin API a change refused for
// its state file is a 500 whose message names the file and the cause.
func TestAdminReportsUnsavedState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "router.state.json")
	rt, _ := startRouter(t, Options{StatePath: path})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rt.AdminHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	breakDir(t, dir)
	req, _ := http.NewRequest(http.MethodPut, "http://"+ln.Addr().String()+"/v1/service",
		strings.NewReader(`{"name":"a/b/c","routes":[{"host":"c.test"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e ErrorBody
	if resp.StatusCode != http.StatusInternalServerError || json.Unmarshal(body, &e) != nil ||
		!strings.Contains(e.Error, path) || !strings.Contains(e.Error, "not a directory") {
		t.Fatalf("PUT /v1/service with an unwritable state file: %d %s", resp.StatusCode, body)
	}
	if len(rt.Services()) != 0 {
		t.Fatalf("the refused service was applied: %+v", rt.Services())
	}
}

func TestErrorStatus(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{errf(ErrNotFound, "x"), 404},
		{errf(ErrConflict, "x"), 409},
		{errf(ErrInvalid, "x"), 400},
		{errf(ErrHandingOver, "x"), 503},
		{storageError("/s", fmt.Errorf("write /s.tmp-1: %w", syscall.ENOSPC)), 507},
		{storageError("/s", &os.PathError{Op: "write", Path: "/s.tmp-1", Err: syscall.EDQUOT}), 507},
		{storageError("/s", &os.PathError{Op: "open", Path: "/s.tmp-1", Err: syscall.EROFS}), 500},
		{errors.New("other"), 500},
	}
	for _, c := range cases {
		if got := errorStatus(c.err); got != c.want {
			t.Errorf("errorStatus(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// Changes made at once share the state file's writes (group commit) and
// each is saved before its call returns: every one is in the file and the
// table. While the file cannot be written, every change made at once
// fails and none is left applied, however the writes batched them.
func TestConcurrentChangesAreEachSavedOrEachRefused(t *testing.T) {
	const svc, n = "shop/prod/web", 24
	dir := filepath.Join(t.TempDir(), "home")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "router.state.json")
	rt, _ := startRouter(t, Options{StatePath: path})
	if err := rt.PutService(api.Service{Name: svc, Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth}); err != nil {
		t.Fatal(err)
	}
	addAll := func(prefix string) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = rt.AddTarget(svc, "v1", api.Target{ID: fmt.Sprintf("%s-%d", prefix, i), Addr: fmt.Sprintf("127.0.0.1:%d", 1+i)})
			}()
		}
		wg.Wait()
		return errs
	}
	targets := func() int {
		st, err := rt.Service(svc)
		if err != nil || len(st.Groups) == 0 {
			return 0
		}
		return len(st.Groups[0].Targets)
	}

	repair := breakDir(t, dir)
	for i, err := range addAll("refused") {
		if !errors.Is(err, ErrStorage) {
			t.Fatalf("change %d with an unwritable state file: %v, want ErrStorage", i, err)
		}
	}
	if got := targets(); got != 0 {
		t.Fatalf("%d refused targets left applied", got)
	}
	repair()

	for i, err := range addAll("saved") {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	st, err := loadState(path)
	if err != nil || len(st.Services) != 1 || len(st.Services[0].Groups) != 1 || len(st.Services[0].Groups[0].Targets) != n {
		t.Fatalf("state file after %d concurrent adds: %+v %v", n, st, err)
	}
	if got := targets(); got != n {
		t.Fatalf("table holds %d targets, want %d", got, n)
	}
}

// TestNewTargetIsProbedWhileItsChangeIsWritten: a target's checks start
// when it is added, not once the state file holds it, because under a
// rolling batch's load that write delays every new task's way to healthy.
// Nothing is routed to it before the write ends. A target whose write fails
// is not probed any more once AddTarget has returned.
func TestNewTargetIsProbedWhileItsChangeIsWritten(t *testing.T) {
	const svc = "shop/prod/web"
	dir := filepath.Join(t.TempDir(), "home")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "router.state.json")
	b1, b2, b3 := newBackend(t, "b1"), newBackend(t, "b2"), newBackend(t, "b3")
	rt, base := startRouter(t, Options{StatePath: path})
	mustSetup(t, rt, api.Service{Name: svc, Routes: []api.Route{{Host: "web.test"}}, Health: fastHealth},
		map[string][]*backend{"v1": {b1}})

	health := func(id string) api.TargetHealth {
		for _, s := range rt.Services() {
			for _, g := range s.Groups {
				for _, tg := range g.Targets {
					if tg.ID == id {
						return tg.Health
					}
				}
			}
		}
		return ""
	}
	rt.file.mu.Lock() // every write of the state file waits
	held := true
	defer func() {
		if held {
			rt.file.mu.Unlock()
		}
	}()
	added := make(chan error, 1)
	go func() { added <- rt.AddTarget(svc, "v1", b2.target()) }()
	waitFor(t, "b2 to pass its checks while its change is being written", 5*time.Second, func() bool {
		select {
		case err := <-added:
			t.Fatalf("AddTarget returned (%v) while the state file could not be written", err)
		default:
		}
		return health("b2") == api.TargetHealthy
	})
	for range 20 {
		if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "b1" {
			t.Fatalf("before its change is written, a request got %d %q; want only b1", code, body)
		}
	}
	rt.file.mu.Unlock()
	held = false
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b2 to get requests once its change is written", 5*time.Second, func() bool {
		get(t, http.DefaultClient, base, "web.test", "/")
		return b2.hits.Load() > 0
	})

	repair := breakDir(t, dir)
	defer repair()
	if err := rt.AddTarget(svc, "v1", b3.target()); !errors.Is(err, ErrStorage) {
		t.Fatalf("AddTarget with an unwritable state file: %v, want ErrStorage", err)
	}
	var probes atomic.Int64
	b3.healthHook(func() { probes.Add(1) })
	// stopChecks has returned with AddTarget: no probe of b3 may follow. Two
	// targets' probes at 10ms intervals pass meanwhile.
	seen := waitProbes(t, b2, 5)
	if n := probes.Load(); n != 0 || !seen {
		t.Fatalf("after its change was refused, b3 was probed %d times (b2 probed: %v)", n, seen)
	}
}

// waitProbes reports whether n probes of b came within 5s.
func waitProbes(t *testing.T, b *backend, n int) bool {
	t.Helper()
	got := make(chan struct{}, n)
	b.healthHook(func() {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	defer b.hHook.Store(nil)
	timeout := time.After(5 * time.Second)
	for range n {
		select {
		case <-got:
		case <-timeout:
			return false
		}
	}
	return true
}
