package router

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// TestStateSurvivesRestart: a new router on the same state file serves the
// same table; restored targets are checked again before taking traffic.
func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.state.json")
	b := newBackend(t, "b1")
	hc := fastHealth
	hc.Interval = 50 * time.Millisecond
	rt1, _ := startRouter(t, Options{StatePath: path})
	mustSetup(t, rt1, api.Service{Name: "app/prod/web", Routes: []api.Route{{Host: "web.test"}}, Health: hc}, map[string][]*backend{"v7": {b}})
	if err := rt1.SetWeights("app/prod/web", map[string]int{"v7": 100}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	rt1.Close()

	b.sick.Store(true)
	rt2, base := startRouter(t, Options{StatePath: path})
	st, err := rt2.Service("app/prod/web")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Groups) != 1 || st.Groups[0].Weight != 100 || st.Groups[0].Targets[0].Addr != b.addr() {
		t.Fatalf("restored %+v", st)
	}
	if h := st.Groups[0].Targets[0].Health; h != api.TargetInitial {
		t.Fatalf("restored target is %s, want initial", h)
	}
	if code, _, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != http.StatusServiceUnavailable {
		t.Fatalf("restored, unchecked target took traffic: %d", code)
	}
	b.sick.Store(false)
	waitHealthy(t, rt2, "app/prod/web")
	if code, body, _ := get(t, http.DefaultClient, base, "web.test", "/"); code != 200 || body != "b1" {
		t.Fatalf("after checks: %d %q", code, body)
	}
	// Nothing but the state and its previous version (the file the next
	// save overwrites) is left beside it once the router is closed (its
	// health saver may be writing until then).
	rt2.Close()
	ents, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{filepath.Base(path), filepath.Base(path) + ".next"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("state dir holds %v, want %v", names, want)
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := New(Options{StatePath: path, Logger: quietLog}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt state: %v, want an error naming the file", err)
	}
}

// The state file never goes back to an older table: a snapshot taken
// before one already written (a health write that lost the race with a
// change) is dropped, and nothing is written once the file is handed over.
func TestStateFileKeepsTheNewestSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	snap := func(name string) state {
		return state{Version: stateVersion, Services: []stateService{{Service: api.Service{Name: name}}}}
	}
	var f stateFile
	steps := []struct {
		gen  uint64
		name string
		want string // service in the file afterwards
	}{
		{1, "one", "one"},
		{3, "three", "three"},
		{2, "two", "three"}, // older than the file: dropped
		{4, "four", "four"},
	}
	for _, s := range steps {
		if err := f.write(path, s.gen, snap(s.name)); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(path)
		if err != nil || len(st.Services) != 1 || st.Services[0].Name != s.want {
			t.Fatalf("after writing generation %d: %+v, %v; want %q", s.gen, st, err, s.want)
		}
	}
	f.freeze()
	f.write(path, 5, snap("five"))
	if st, _ := loadState(path); st.Services[0].Name != "four" {
		t.Fatalf("a frozen file was written: %+v", st)
	}
	f.thaw()
	f.write(path, 6, snap("six"))
	if st, _ := loadState(path); st.Services[0].Name != "six" {
		t.Fatalf("a thawed file was not written: %+v", st)
	}
}

// A save swaps the new table in with the previous one, so that a router
// saving a dozen times a batch allocates no inode per save: after the
// first two saves, path and path.next are the same two files, path always
// holding the newest table, whole.
func TestSaveStateReusesItsTwoFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	inode := func(p string) uint64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	var inodes map[uint64]bool
	for i, name := range []string{"one", "two", "three", "four"} {
		if err := saveState(path, state{Version: stateVersion, Services: []stateService{{Service: api.Service{Name: name}}}}); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(path)
		if err != nil || len(st.Services) != 1 || st.Services[0].Name != name {
			t.Fatalf("after saving %q: %+v, %v", name, st, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state file mode: %v, %v; want 0600", fi, err)
		}
		if i == 0 {
			continue // path.next is made by the second save
		}
		now := map[uint64]bool{inode(path): true, inode(path + ".next"): true}
		if inodes != nil && !reflect.DeepEqual(now, inodes) {
			t.Fatalf("save %d used new files: inodes %v, were %v", i+1, now, inodes)
		}
		inodes = now
	}
}
