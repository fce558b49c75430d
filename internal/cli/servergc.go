package cli

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the server's GOGC unless the environment sets one.
// The server's live heap is a few MB, so at Go's default of 100 its heap
// goal is about 8 MB and a rolling deploy of 50 tasks collected 18 times in
// 4.4 s, each cycle about 7 ms of CPU taken from the two cores the batch's
// starting tasks need. At 400 the goal is about 20 MB. bench/deploy at
// N = 50 showed a lower overhead per batch in each of five A/B pairs.
const serverGCPercent = 400

// tuneServerGC sets the server's GC target, leaving an explicit GOGC be.
func tuneServerGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
