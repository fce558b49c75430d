package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime"
)

// helloDir is a read-only release directory holding examples/hello, built
// once by TestMain.
var helloDir string

// TestMain doubles as the shim (the driver re-executes this test binary with
// "shim …", its default) and as a short-lived process that starts a task and
// exits (PROCESS_TEST_STARTER), so tests need no prebuilt ferry binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(ShimMain(os.Args[2:]))
	}
	if req := os.Getenv("PROCESS_TEST_STARTER"); req != "" {
		os.Exit(starterMain(req))
	}
	tmp, err := os.MkdirTemp("", "ferry-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloDir = filepath.Join(tmp, "release")
	build := exec.Command("go", "build", "-o", filepath.Join(helloDir, "hello"), "github.com/ferrycd/ferry/examples/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building examples/hello:", err)
		os.Exit(1)
	}
	os.Chmod(helloDir, 0o555) // releases are read-only
	code := m.Run()
	os.Chmod(helloDir, 0o755)
	os.RemoveAll(tmp)
	os.Exit(code)
}

// starterRequest is what the starter process is asked to start.
type starterRequest struct {
	Home string
	Spec runtime.TaskSpec
}

// starterMain starts one task with a fresh driver, prints its handle and
// exits at once: the process that started the task dies.
func starterMain(req string) int {
	var r starterRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := home.New(r.Home)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d := &Driver{Home: h}
	st, err := d.Start(context.Background(), r.Spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(st.Handle)
	return 0
}
