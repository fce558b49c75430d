// Package chaos runs ferry's chaos suite: under constant load through the
// router it loops deployments (good and deliberately broken revisions,
// every strategy the tree supports) while, at seeded random moments, it
// kills the server, kills and hangs tasks, restarts and kills the router
// and fills the disk; after each round it checks the invariants of
// DESIGN.md against the store and /proc.
//
// The short form runs by default (a few rounds, under 3 minutes); a longer
// one with -chaos.long or -chaos.rounds=N; -chaos.seed=S replays a run.
// It touches nothing but the ferry homes it makes (each a tmpfs it mounts,
// which needs root).
package chaos

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

var (
	seedFlag   = flag.Int64("chaos.seed", 0, "seed of the random choices (0: a new one, printed)")
	roundsFlag = flag.Int("chaos.rounds", 0, "rounds to run (0: 5, or 40 with -chaos.long)")
	longFlag   = flag.Bool("chaos.long", false, "the long form: 40 rounds unless -chaos.rounds says otherwise")
)

// ferryBin is the binary TestMain built from this tree.
var ferryBin string

func TestMain(m *testing.M) {
	flag.Parse()
	bin, err := rig.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = bin
	code := m.Run()
	os.RemoveAll(filepath.Dir(bin))
	os.Exit(code)
}

// rounds is how many rounds this run does.
func rounds() int {
	switch {
	case *roundsFlag > 0:
		return *roundsFlag
	case *longFlag:
		return 40
	}
	return 5
}
