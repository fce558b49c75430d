// Package procstat reads what the benchmarks measure of processes from
// /proc (Linux): their stat fields and the CPU time they used. It is for
// bench/ only; ferry's own /proc reading lives with the code that needs it.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Fields splits /proc/<pid>/stat, fields numbered as in proc(5) minus one
// (Fields(pid)[3] is the parent pid); nil when it cannot be read. The
// command name is in parentheses and may hold spaces, so the fields after
// it are counted from the last ')'.
func Fields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{"pid", "comm"}, strings.Fields(s[i+1:])...)
}

// CPU is the user and system time the processes have used, summed; a
// process that cannot be read counts nothing. /proc counts it in ticks of
// USER_HZ, which Linux fixes at 100 per second.
func CPU(pids ...int) time.Duration {
	var ticks int64
	for _, p := range pids {
		f := Fields(p)
		if len(f) > 14 {
			u, _ := strconv.ParseInt(f[13], 10, 64)
			s, _ := strconv.ParseInt(f[14], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}
