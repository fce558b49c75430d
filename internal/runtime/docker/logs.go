package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/ferrycd/ferry/internal/runtime"
)

// keptLogName is where a removed container's output is kept, as the process
// driver keeps a task's; handleLinks maps handles to those files.
const (
	keptLogName = "output.log"
	handleLinks = ".docker-handles"
)

// Logs streams the container's stdout and stderr, demultiplexed into one
// stream in the order the engine recorded them. Following ends when ctx is
// done or the container stops. A removed container's kept output is read
// from LogDir.
func (d *Driver) Logs(ctx context.Context, handle string, opts runtime.LogOptions) (io.ReadCloser, error) {
	if err := runtime.CheckTail(opts.Tail); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	c, ok, err := d.inspect(ctx, handle)
	if err != nil {
		return nil, err
	}
	if !ok {
		if kept := d.keptLog(handle); kept != "" {
			return keptTail(kept, opts.Tail)
		}
		return nil, fmt.Errorf("logs: no task with handle %.12s", handle)
	}
	return d.stream(ctx, c.ID, opts)
}

func (d *Driver) stream(ctx context.Context, handle string, opts runtime.LogOptions) (io.ReadCloser, error) {
	cli, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	lo := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	raw, err := cli.ContainerLogs(ctx, handle, lo)
	if err != nil {
		return nil, d.engineErr(err)
	}
	pr, pw := io.Pipe()
	go func() {
		// Containers have no TTY: the engine multiplexes both streams.
		_, err := stdcopy.StdCopy(pw, pw, raw)
		if ctx.Err() != nil {
			err = nil // a cancelled follow ends the stream cleanly
		}
		pw.CloseWithError(err)
	}()
	return &logStream{PipeReader: pr, raw: raw}, nil
}

type logStream struct {
	*io.PipeReader
	raw io.Closer
}

func (l *logStream) Close() error {
	l.raw.Close()
	return l.PipeReader.Close()
}

// keptLog is the file where a removed task's output was kept, or "".
func (d *Driver) keptLog(handle string) string {
	if d.LogDir == "" {
		return ""
	}
	path := filepath.Join(d.LogDir, handleLinks, handle)
	target, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return target
}

// keepLogs copies a stopped container's output to LogDir/<id>/output.log,
// and remembers under which handle, before the engine deletes it with the
// container.
func (d *Driver) keepLogs(ctx context.Context, handle, id string) error {
	if d.LogDir == "" {
		return nil
	}
	dir := filepath.Join(d.LogDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rc, err := d.stream(ctx, handle, runtime.LogOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	path := filepath.Join(dir, keptLogName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	links := filepath.Join(d.LogDir, handleLinks)
	if err := os.MkdirAll(links, 0o700); err != nil {
		return err
	}
	link := filepath.Join(links, handle)
	os.Remove(link)
	return os.Symlink(path, link)
}

// keptTail returns the last n lines (0: all) of a kept log.
func keptTail(path string, n int) (io.ReadCloser, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(lastLines(data, n))), nil
}

// lastLines is the last n lines of data (all of it when n is 0).
func lastLines(data []byte, n int) []byte {
	if n <= 0 {
		return data
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

// KeptLogs reads the output kept of removed task id.
func (d *Driver) KeptLogs(ctx context.Context, id string, tail int) (io.ReadCloser, error) {
	if err := runtime.CheckTail(tail); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	if d.LogDir == "" || checkName("task id", id) != nil {
		return nil, fmt.Errorf("logs of task %s: none kept", id)
	}
	rc, err := keptTail(filepath.Join(d.LogDir, id, keptLogName), tail)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("logs of task %s: none kept", id)
	}
	return rc, err
}

// KeptOutputs lists the outputs kept under LogDir.
func (d *Driver) KeptOutputs() ([]runtime.KeptOutput, error) {
	if d.LogDir == "" {
		return nil, nil
	}
	return runtime.ListKept(d.LogDir)
}

// RemoveKept deletes the output kept of task id and the handle links to it.
func (d *Driver) RemoveKept(id string) error {
	if err := checkName("task id", id); err != nil {
		return fmt.Errorf("removing the output of a task: %w", err)
	}
	if d.LogDir == "" {
		return nil
	}
	dir := filepath.Join(d.LogDir, id)
	links := filepath.Join(d.LogDir, handleLinks)
	entries, _ := os.ReadDir(links)
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(links, e.Name())); err == nil && filepath.Dir(target) == dir {
			os.Remove(filepath.Join(links, e.Name()))
		}
	}
	return os.RemoveAll(dir)
}
