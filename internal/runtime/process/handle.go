package process

import (
	"fmt"
	"strconv"
	"strings"
)

// Handle finds a task again across restarts of ferry: its id (its state
// directory) and the pid and start time of its process, so that another
// process that later gets the same pid is never taken for it.
type Handle struct {
	ID    string
	PID   int
	Start uint64 // /proc/<pid>/stat field 22, clock ticks after boot
}

// String encodes the handle as "<id>:<pid>:<start>", what the store keeps.
func (h Handle) String() string {
	return fmt.Sprintf("%s:%d:%d", h.ID, h.PID, h.Start)
}

// ParseHandle decodes a handle written by String.
func ParseHandle(s string) (Handle, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Handle{}, fmt.Errorf("process handle %q: want <task-id>:<pid>:<start-time>", s)
	}
	if err := checkID(parts[0]); err != nil {
		return Handle{}, fmt.Errorf("process handle %q: %w", s, err)
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return Handle{}, fmt.Errorf("process handle %q: pid %q is not a positive number", s, parts[1])
	}
	start, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return Handle{}, fmt.Errorf("process handle %q: start time %q is not a number", s, parts[2])
	}
	return Handle{ID: parts[0], PID: pid, Start: start}, nil
}

// checkID accepts task ids that are safe as a single path component.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("empty task id")
	}
	if len(id) > 128 {
		return fmt.Errorf("task id %q: longer than 128 characters", id)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("task id %q: not a valid name", id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("task id %q: character %q not allowed (use letters, digits, '-', '_', '.')", id, r)
		}
	}
	return nil
}
