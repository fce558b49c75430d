package preview

import (
	"bytes"
	"context"

	"github.com/ferrycd/ferry/internal/store"
)

// eventLog streams a build's output into the preview's trace, a line per
// event, secret values masked.
type eventLog struct {
	m    *Manager
	ctx  context.Context
	p    store.Preview
	mask func(string) string
	buf  []byte
}

func (w *eventLog) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.m.event(w.ctx, w.p, "build.output", "%s", w.mask(string(w.buf[:i])))
		w.buf = w.buf[i+1:]
	}
}
