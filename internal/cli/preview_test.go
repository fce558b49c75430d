package cli

import (
	"strings"
	"testing"
	"time"
)

func TestOneLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"first line\nsecond", 100, "first line…"},
		{"ééééé", 3, "ééé…"},
		{"", 5, ""},
	} {
		if got := oneLine(c.in, c.n); got != c.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

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

func TestTickProgressSaysWhatItWaitsForAndHowLong(t *testing.T) {
	w := make(lineWriter, 16)
	stop := tickProgress(w, time.Millisecond, "still building %s", "fix-1")
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
