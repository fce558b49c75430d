package daemon

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/internal/home"
)

// Handover records pid to as the daemon in place of pid from, which handed
// its work over to it (the router's seamless restart: the successor is not
// this package's child, so Start never recorded it). It does nothing when
// the pid file does not name from: a router run in the foreground is not
// the recorded daemon.
func Handover(h home.Dir, name string, from, to int) error {
	rec, err := readRecord(h, name)
	if err != nil || rec.PID != from {
		return nil
	}
	start, err := startTime(to)
	if err != nil {
		return fmt.Errorf("ferry %s: recording pid %d: %w", name, to, err)
	}
	argv, err := settledArgv(to)
	if err != nil {
		return fmt.Errorf("ferry %s: recording pid %d: %w", name, to, err)
	}
	out, _ := json.Marshal(record{PID: to, Start: start, Argv: argv})
	return writeFileAtomic(h.DaemonPidFile(name), out)
}

// settledArgv is readArgv once the command line is there. Right after exec
// the parent may already know the exec succeeded while the new image's
// arguments are not yet in place and the file reads empty: that settles
// within milliseconds, so it is polled for up to a second rather than
// recorded as an argv no later read could match.
func settledArgv(pid int) ([]string, error) {
	deadline := time.Now().Add(time.Second)
	for {
		argv, err := readArgv(pid)
		if err != nil || argv != nil {
			return argv, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pid %d has no command line", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
