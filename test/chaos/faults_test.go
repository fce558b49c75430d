package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// fault is one thing that goes wrong; inject does it and undoes what a
// user or the machine would undo (restart the server, free the disk),
// reporting the windows during which its own request failures are
// expected. A new fault is one entry in faults.
type fault struct {
	name   string
	inject func(e *env) ([]window, error)
}

// env is what a fault acts on.
type env struct {
	c    *rig.Cluster
	rng  *rand.Rand
	load *rig.Load
	// crashing says a crashing revision may be serving: its tasks die
	// while serving and, in crash-loop backoff, stay down a while.
	crashing bool
}

// pause is a seeded random span in [lo, hi): how long a fault lasts.
func (e *env) pause(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(e.rng.Int64N(int64(hi-lo)))
}

var faults = []fault{
	{"kill -9 server", killServer},
	{"kill -9 task", killTask},
	{"hang task (SIGSTOP)", hangTask},
	{"router restart (seamless)", restartRouter},
	{"kill -9 router", killRouter},
	{"disk full", fillDisk},
}

func killServer(e *env) ([]window, error) {
	if _, err := e.c.Kill("server"); err != nil {
		return nil, err
	}
	time.Sleep(e.pause(0, 1500*time.Millisecond)) // the server stays down a while
	return nil, e.c.StartServer()
}

// victim is a random live task process, or false when none runs.
func (e *env) victim() (rig.TaskProc, bool) {
	procs := rig.TaskProcs(e.c.Home)
	if len(procs) == 0 {
		return rig.TaskProc{}, false
	}
	return procs[e.rng.IntN(len(procs))], true
}

func killTask(e *env) ([]window, error) {
	p, ok := e.victim()
	if !ok {
		return nil, nil
	}
	at := time.Now()
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return nil, err
	}
	return []window{{causeTaskKilled, at, time.Now().Add(time.Second)}}, nil
}

// hangTask stops a task for a few seconds: its health checks time out and
// the requests it holds wait, then it resumes (or was replaced meanwhile).
func hangTask(e *env) ([]window, error) {
	p, ok := e.victim()
	if !ok {
		return nil, nil
	}
	at := time.Now()
	if err := syscall.Kill(p.PID, syscall.SIGSTOP); err != nil {
		return nil, nil // gone already
	}
	time.Sleep(e.pause(time.Second, 4*time.Second))
	syscall.Kill(p.PID, syscall.SIGCONT)
	// A request sent just before SIGCONT times out on the client's clock.
	return []window{{causeHung, at, time.Now().Add(6 * time.Second)}}, nil
}

func restartRouter(e *env) ([]window, error) {
	return nil, e.c.RestartRouter()
}

// killRouter is the hard router kill: connections drop until a new router
// listens and its health checks pass; the window lasts until the load sees
// an answer again.
func killRouter(e *env) ([]window, error) {
	at := time.Now()
	if _, err := e.c.Kill("router"); err != nil {
		return nil, err
	}
	if err := e.c.StartRouter(); err != nil {
		return nil, err
	}
	ready := time.Now()
	deadline := ready.Add(30 * time.Second)
	for !e.load.LastOK().After(ready) {
		if time.Now().After(deadline) && e.crashing {
			// The live revision crashes and may sit in crash-loop backoff:
			// no answer may come for long. The kill's window ends once the
			// new router answers at all; its "no healthy target" after
			// that is the crash window's.
			if first, ok := firstAnswer(e.load.Report().Failures, ready); ok {
				return []window{{causeRouterKill, at, first}}, nil
			}
		}
		if time.Now().After(deadline) {
			var last []string
			for _, f := range e.load.Report().Failures {
				if f.At.After(ready) {
					last = append(last, f.String())
				}
			}
			return nil, fmt.Errorf("no request answered within 30s of the router's restart at %s; failures since:\n%s",
				ready.Format("15:04:05.000"), strings.Join(elide(last, 10), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return []window{{causeRouterKill, at, e.load.LastOK()}}, nil
}

// firstAnswer is when the router first answered (if only with an error
// status) a request that failed after since.
func firstAnswer(failures []rig.Failure, since time.Time) (time.Time, bool) {
	for _, f := range failures {
		if f.At.After(since) && f.Status != 0 {
			return f.At, true
		}
	}
	return time.Time{}, false
}

// fillDisk fills $FERRY_HOME's filesystem to the last byte for a few
// seconds, then frees it.
func fillDisk(e *env) ([]window, error) {
	if e.c.Disk == 0 {
		return nil, errors.New("disk full: $FERRY_HOME is not its own filesystem")
	}
	path := filepath.Join(e.c.Home, "chaos-filler")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				f.Close()
				return nil, fmt.Errorf("filling the disk: %w", err)
			}
			break
		}
	}
	// The last bytes a 1 MiB write could not take.
	for _, err := f.Write(buf[:4096]); err == nil; _, err = f.Write(buf[:4096]) {
	}
	f.Close()
	time.Sleep(e.pause(time.Second, 3*time.Second))
	return nil, os.Remove(path)
}
