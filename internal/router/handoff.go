package router

import (
	"bufio"
	"net"
	"sync"
)

// handoffConn replays what the fast path read before the rest of the
// connection.
type handoffConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *handoffConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// handoffListener feeds handed-off connections to the general path's
// http.Server.
type handoffListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *handoffListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
