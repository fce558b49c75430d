package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// showProgress tells the user label is under way until stop is called, for
// a wait that shows nothing else: on a terminal a spinner with the time so
// far, from the first second (spin); elsewhere, when every > 0, a line
// "label (Ns)" every `every`, so that a log shows a long wait is no hang.
func showProgress(w io.Writer, label string, every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	f, tty := w.(*os.File)
	tty = tty && term.IsTerminal(int(f.Fd()))
	go func() {
		defer close(finished)
		switch {
		case tty:
			spin(f, label, done)
		case every > 0:
			progressLines(w, label, every, done)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progressLines writes "label (Ns)" to w every `every` until done.
func progressLines(w io.Writer, label string, every time.Duration, done <-chan struct{}) {
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fmt.Fprintf(w, "%s (%s)\n", label, time.Since(start).Round(time.Second))
		}
	}
}

// spin shows "label… Ns" on a terminal until done, from the first second.
func spin(f *os.File, label string, done <-chan struct{}) {
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	frames := `|/-\`
	for i := 0; ; i++ {
		select {
		case <-done:
			if time.Since(start) > time.Second {
				fmt.Fprint(f, "\r\033[K")
			}
			return
		case <-tick.C:
			if el := time.Since(start); el > time.Second {
				fmt.Fprintf(f, "\r\033[K%c %s… %s", frames[i%len(frames)], label, el.Round(time.Second))
			}
		}
	}
}
