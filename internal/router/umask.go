package router

import "syscall"

// umask sets the process umask so the admin socket is never, even briefly,
// reachable by others; it returns the previous mask.
func umask(m int) int { return syscall.Umask(m) }
