package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(to) + "/cmdline")
	if err != nil {
		return fmt.Errorf("ferry %s: recording pid %d: %w", name, to, err)
	}
	argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	out, _ := json.Marshal(record{PID: to, Start: start, Argv: argv})
	return writeFileAtomic(h.DaemonPidFile(name), out)
}
