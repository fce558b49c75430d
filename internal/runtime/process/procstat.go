package process

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat is what ferry reads of /proc/<pid>/stat.
type procStat struct {
	State byte   // field 3: R, S, D, Z, …
	Start uint64 // field 22: start time in clock ticks after boot
}

// parseStat parses the contents of /proc/<pid>/stat. The second field (the
// command name) is in parentheses and may itself contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	// After ')': " <state> <ppid> ..." — field 3 onwards.
	fields := bytes.Fields(data[end+1:])
	const startIdx = 22 - 3
	if len(fields) <= startIdx || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name, want at least %d", len(fields), startIdx+1)
	}
	start, err := strconv.ParseUint(string(fields[startIdx]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat: start time %q: %w", fields[startIdx], err)
	}
	return procStat{State: fields[0][0], Start: start}, nil
}

// readStat reads /proc/<pid>/stat; a process that does not exist is an error.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(data)
}

// alive reports whether pid is still the process that started at start and
// has not exited (a zombie has exited: only its exit status remains).
func alive(pid int, start uint64) bool {
	st, err := readStat(pid)
	return err == nil && st.Start == start && st.State != 'Z' && st.State != 'X'
}
