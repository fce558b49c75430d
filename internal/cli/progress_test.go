package cli

import (
	"strings"
	"testing"
	"time"
)

// lineWriter hands each write to a channel, dropping it when the channel
// is full (the ticker must never block on it).
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(p):
	default:
	}
	return len(p), nil
}

func TestShowProgressOffATerminalWritesWhatItWaitsForAndHowLong(t *testing.T) {
	w := make(lineWriter, 16)
	stop := showProgress(w, "still building fix-1", time.Millisecond)
	for i := 0; i < 2; i++ {
		select {
		case line := <-w:
			if !strings.HasPrefix(line, "still building fix-1 (") || !strings.HasSuffix(line, "s)\n") {
				t.Fatalf("progress line %q", line)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no progress line")
		}
	}
	stop()
}
