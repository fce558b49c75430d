package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ferrycd/ferry/internal/router/api"
)

// state is the routing table as persisted: services with their groups'
// weights and targets, and each target's last known health. That health
// admits no traffic by itself: a restored target is checked again, and one
// saved healthy is re-admitted by its first passing check (restore.go).
type state struct {
	Version  int            `json:"version"`
	Services []stateService `json:"services"`
}

type stateService struct {
	api.Service
	Groups []stateGroup `json:"groups"`
}

type stateGroup struct {
	Name    string        `json:"name"`
	Weight  int           `json:"weight"`
	Targets []stateTarget `json:"targets,omitempty"`
}

type stateTarget struct {
	api.Target
	Health api.TargetHealth `json:"health,omitempty"` // absent in files of older routers
}

const stateVersion = 1

// snapshotState captures the table. Callers hold rt.mu.
func (rt *Router) snapshotState() state {
	st := state{Version: stateVersion, Services: []stateService{}}
	for _, s := range rt.services {
		ss := stateService{Service: s.cfg, Groups: []stateGroup{}}
		for _, g := range s.groups {
			sg := stateGroup{Name: g.name, Weight: g.weight}
			for _, t := range g.targets {
				sg.Targets = append(sg.Targets, stateTarget{Target: api.Target{ID: t.id, Addr: t.addr}, Health: stateName(t.state.Load())})
			}
			ss.Groups = append(ss.Groups, sg)
		}
		st.Services = append(st.Services, ss)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st
}

func loadState(path string) (state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("router state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("router state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return state{}, fmt.Errorf("router state %s: version %d, want %d", path, st.Version, stateVersion)
	}
	return st, nil
}

// stateFile serialises the writes of the state file: the group commit's
// (before the changes are published) and the health saver's. Both write
// outside rt.mu, so a snapshot older than one already written is dropped:
// the file never goes back to an older table. Its zero value is ready.
type stateFile struct {
	mu      sync.Mutex
	written uint64 // generation of the snapshot in the file
	frozen  bool   // handed over: the successor writes the file now
}

// write saves st, snapshot number gen, unless a newer one is in the file.
func (f *stateFile) write(path string, gen uint64, st state) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen || gen <= f.written {
		return nil
	}
	if err := saveState(path, st); err != nil {
		return err
	}
	f.written = gen
	return nil
}

// freeze waits for a write under way and refuses every later one; thaw
// lifts that.
func (f *stateFile) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

func (f *stateFile) thaw() {
	f.mu.Lock()
	f.frozen = false
	f.mu.Unlock()
}

// saveState writes the file atomically. The table goes to path.next,
// fsynced (a power loss never leaves a torn table that would keep the
// router from starting), which one renameat2(RENAME_EXCHANGE) then swaps
// with path: path holds the new table, path.next the previous one, to be
// overwritten by the next save. So a save allocates and frees no inode: a
// batch of tasks registering saves a dozen times, and a new inode costs a
// scan past recently deleted ones on an ext4 without a journal. Where the
// exchange fails (path does not exist yet, or the file system cannot), it
// renames path.next over path. The directory is not fsynced: a swap lost
// to a power loss brings back the previous table, which is whole, and every
// task is gone with the power anyway; the server registers the new ones. An
// error before the swap leaves path as it was; the caller names path in it.
func saveState(path string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	next := path + ".next"
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) == nil {
		return nil
	}
	return os.Rename(next, path)
}
