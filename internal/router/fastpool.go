package router

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// upConn is a pooled keep-alive connection to a target for the fast path.
type upConn struct {
	net.Conn
	br   *bufio.Reader
	idle time.Time // when it went back to the pool
}

// upPool is a target's idle fast-path connections, most recent first out.
type upPool struct {
	mu    sync.Mutex
	conns []*upConn
}

// maxIdleUp bounds a target's idle connections; idleUpTimeout drops those
// idle long enough that the target may have closed them.
const (
	maxIdleUp     = 512
	idleUpTimeout = 30 * time.Second
)

func (p *upPool) get(now time.Time) *upConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.conns) > 0 {
		c := p.conns[len(p.conns)-1]
		p.conns = p.conns[:len(p.conns)-1]
		if now.Sub(c.idle) < idleUpTimeout {
			return c
		}
		c.Close()
	}
	return nil
}

func (p *upPool) put(c *upConn, now time.Time) {
	c.idle = now
	p.mu.Lock()
	if len(p.conns) < maxIdleUp {
		p.conns = append(p.conns, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (p *upPool) closeAll() {
	p.mu.Lock()
	cs := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// dialUp opens a tracked connection to t for the fast path.
func (t *target) dialUp(timeout time.Duration) (*upConn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	return &upConn{Conn: t.conns.add(c), br: bufio.NewReaderSize(c, 16<<10)}, nil
}
