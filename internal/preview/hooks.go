package preview

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

// defaultHookTimeout bounds a preview hook that declares no timeout.
const defaultHookTimeout = 5 * time.Minute

// runHook runs a preview hook in the release directory of digest, with
// the preview's facts in its environment; mask hides secret values in
// what it prints. A failure is an error only when
// the hook says on_failure: rollback; otherwise it is recorded and passed.
func (m *Manager) runHook(ctx context.Context, p store.Preview, digest, name string, h *config.Hook, mask func(string) string) error {
	dir, err := m.arts.Unpack(ctx, digest)
	if err != nil {
		return fmt.Errorf("%s hook: unpacking %s: %w", name, digest, err)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = defaultHookTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, h.Command[0], h.Command[1:]...)
	if !strings.Contains(h.Command[0], "/") {
		// A bare name is looked up in the release first, as tasks' commands are.
		if _, err := os.Stat(dir + "/" + h.Command[0]); err == nil {
			cmd = exec.CommandContext(hctx, dir+"/"+h.Command[0], h.Command[1:]...)
		}
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_PREVIEW=1", "FERRY_APP="+p.App, "FERRY_ENV="+p.Env,
		"FERRY_BRANCH="+p.Branch, "FERRY_PREVIEW_HOST="+p.Host, "FERRY_PREVIEW_URL="+m.cfg.URL(p.Host))
	if p.PR > 0 {
		cmd.Env = append(cmd.Env, "FERRY_PR="+strconv.Itoa(p.PR))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if line != "" {
			m.event(ctx, p, "preview.hook.output", "[%s] %s", name, mask(line))
		}
	}
	if err == nil {
		m.event(ctx, p, "preview.hook", "%s hook succeeded", name)
		return nil
	}
	if hctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	m.event(ctx, p, "preview.hook", "%s hook failed: %s", name, mask(err.Error()))
	if h.OnFailure == config.OnFailureRollback {
		return fmt.Errorf("%s hook: %w", name, err)
	}
	return nil
}
