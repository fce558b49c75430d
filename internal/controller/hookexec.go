package controller

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/runtime/hookbeat"
)

// defaultHookTimeout bounds a hook whose ferry.yaml names no timeout.
const defaultHookTimeout = 30 * time.Second

// maxHookHeartbeat caps how long heartbeats can keep a hook running: ten
// times its timeout, at most an hour. A hook that beats forever (a stuck
// loop around `ferry hook heartbeat`) must still end, or a task would
// never stop.
func maxHookHeartbeat(timeout time.Duration) time.Duration {
	return min(10*timeout, time.Hour)
}

// execInTask runs a hook's command in a task with env added to the task's
// environment plus FERRY_HOOK_HEARTBEAT, a file whose touches extend the
// timeout (up to maxHookHeartbeat). It returns whether the hook passed, a
// result in words and the hook's output (its tail).
func (c *Controller) execInTask(ctx context.Context, drv runtime.Driver, handle, task, hook string, env, command []string,
	timeout time.Duration) (ok bool, result, output string) {
	if timeout <= 0 {
		timeout = defaultHookTimeout
	}
	dir := filepath.Join(c.d.Home.RunDir(), "hooks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, "failed: " + err.Error(), ""
	}
	w, err := hookbeat.Watch(filepath.Join(dir, task+"."+hook+".beat"), timeout, maxHookHeartbeat(timeout))
	if err != nil {
		return false, "failed: " + err.Error(), ""
	}
	defer os.Remove(w.Path())
	hctx, cancel := w.Context(ctx)
	defer cancel()
	env = append([]string{"FERRY_HOOK=" + hook, hookbeat.Env + "=" + w.Path()}, env...)
	var out bytes.Buffer
	code, err := drv.Exec(hctx, handle, runtime.ExecOptions{Command: command, Env: env, Stdout: &out, Stderr: &out})
	output = strings.TrimSpace(out.String())
	if len(output) > maxHookOutput {
		output = "…" + output[len(output)-maxHookOutput:]
	}
	switch {
	case hctx.Err() != nil && ctx.Err() == nil:
		return false, fmt.Sprint(context.Cause(hctx)), output
	case err != nil:
		return false, "failed: " + err.Error(), output
	case code != 0:
		return false, "failed: exit code " + itoa(code), output
	}
	return true, "succeeded", output
}
