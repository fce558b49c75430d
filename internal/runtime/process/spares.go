package process

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Spare shims. Starting a shim means executing the ferry binary, which costs
// tens of milliseconds of start-up (a large Go binary: page faults, package
// initialisation) before the task itself can be started. A Driver with
// Spares > 0 keeps shims started ahead of need, each blocked reading the
// state directory of the task it will supervise from a pipe; Start hands one
// its directory and only waits for the task to be started.
//
// How many it keeps follows demand: the largest burst of Starts seen (Starts
// less than burstGap apart, as the tasks of one batch of a rolling deploy
// are), so that the next batch finds a spare per task; at most Spares, back
// to one after spareIdle without a Start. A spare whose driver is gone (the
// server exited or was killed) reads EOF and exits: spares never outlive
// the process that started them.

// spareIdle is how long demand is remembered; burstGap is the most time
// between two Starts of one burst.
const (
	spareIdle = 2 * time.Minute
	burstGap  = 250 * time.Millisecond
)

// spare is one shim started ahead of need.
type spare struct {
	ctl   *os.File // write end: the task's state directory is written here
	ready *os.File // read end of the shim's ready pipe (fd 3 in the shim)
	cmd   *exec.Cmd
}

// discard ends an unused spare: EOF on its control pipe makes it exit.
func (s *spare) discard() {
	s.ctl.Close()
	s.ready.Close()
}

// sparePool holds a driver's spares.
type sparePool struct {
	mu       sync.Mutex
	idle     []*spare
	want     int // how many to keep
	inflight int // Starts under way
	burst    int // Starts in the current burst
	filling  bool
	closed   bool
	last     time.Time // last Start taking or asking for a spare
	trim     *time.Timer
}

func (d *Driver) spares() *sparePool {
	if d.Spares <= 0 {
		return nil
	}
	d.poolOnce.Do(func() { d.pool = &sparePool{want: 1} })
	return d.pool
}

// takeSpare returns a spare shim, or nil when none is ready (or spares are
// off). Each call counts a Start in flight until its done is called.
func (d *Driver) takeSpare() (s *spare, done func()) {
	p := d.spares()
	if p == nil {
		return nil, func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) > burstGap {
		p.burst = 0
	}
	p.inflight++
	p.burst++
	p.last = now
	p.want = min(max(p.want, p.burst), d.Spares)
	if n := len(p.idle); n > 0 && !p.closed {
		s = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	return s, func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
		d.fill(p)
	}
}

// fill starts spares, one at a time (only one filler runs), until the pool
// holds what it wants, once the burst of Starts is over: a spare's start-up costs tens of milliseconds of CPU,
// which must not compete with the tasks of a batch starting. It also
// schedules the trim of an idle pool.
func (d *Driver) fill(p *sparePool) {
	p.mu.Lock()
	if p.trim == nil {
		p.trim = time.AfterFunc(spareIdle, func() { d.trimIdle(p) })
	} else {
		p.trim.Reset(spareIdle)
	}
	if p.filling || p.closed {
		p.mu.Unlock()
		return
	}
	p.filling = true
	p.mu.Unlock()
	go func() {
		for {
			p.mu.Lock()
			if p.closed || len(p.idle) >= p.want {
				p.filling = false
				p.mu.Unlock()
				return
			}
			if quiet := time.Since(p.last); p.inflight > 0 || quiet < burstGap {
				p.mu.Unlock()
				time.Sleep(max(burstGap-quiet, 10*time.Millisecond))
				continue
			}
			p.mu.Unlock()
			s, err := d.startSpare()
			p.mu.Lock()
			switch {
			case err != nil:
				// Start cold until the next Start tries again.
				p.filling = false
				p.mu.Unlock()
				return
			case p.closed:
				s.discard()
			default:
				p.idle = append(p.idle, s)
			}
			p.mu.Unlock()
		}
	}()
}

// trimIdle lets the pool shrink back to one spare after a quiet spell.
func (d *Driver) trimIdle(p *sparePool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < spareIdle || p.inflight > 0 {
		return
	}
	p.want = 1
	for len(p.idle) > p.want {
		p.idle[0].discard()
		p.idle = p.idle[1:]
	}
}

// Close ends the driver's spare shims, releases what Inspect holds open
// and removes a tmpfs state root left empty. Running tasks are not
// affected; a Start after Close starts its shim cold.
func (d *Driver) Close() error {
	d.known.Range(func(_, k any) bool {
		k.(knownTask).live.close()
		return true
	})
	releaseTasksDir(d.Home, d.tasksDir())
	p := d.spares()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.trim != nil {
		p.trim.Stop()
	}
	for _, s := range p.idle {
		s.discard()
	}
	p.idle = nil
	return nil
}

// startSpare starts `ferry shim spare` in its own session, with the ready
// pipe on fd 3 and the control pipe on fd 4.
func (d *Driver) startSpare() (*spare, error) {
	argv, err := d.shimArgv()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		readyW.Close()
		return nil, err
	}
	cmd := shimCommand(argv, "spare")
	cmd.ExtraFiles = []*os.File{readyW, ctlR}
	err = cmd.Start()
	readyW.Close()
	ctlR.Close()
	if err != nil {
		readyR.Close()
		ctlW.Close()
		return nil, fmt.Errorf("starting a spare shim: %w", err)
	}
	go reap(cmd)
	return &spare{ctl: ctlW, ready: readyR, cmd: cmd}, nil
}

// handOver gives a spare the state directory of its task and waits for its
// report, as startColdShim does for a shim it starts itself. ok is false
// when the spare was already gone before it read the directory: nothing
// was started, and the caller starts a shim cold instead.
func (s *spare) handOver(dir string, deadline time.Time) (report string, ok bool) {
	defer s.ready.Close()
	_, err := s.ctl.WriteString(dir + "\n")
	s.ctl.Close()
	if err != nil {
		return "", false
	}
	return readReport(s.ready, deadline, s.cmd.Process), true
}
