package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// fastConn is one client connection on the fast path.
type fastConn struct {
	s        *Server
	rt       *Router
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	clientIP []byte
	busy     atomic.Bool // a request is being served (or the conn is closing)
	hs       [maxFastHeaders]hdr
	rhs      [maxRespHeaders]hdr
	out      []byte
	tried    [maxAttempts]*target
	rdl, wdl time.Time // read and write deadlines last set
	rh       rawHeaders
	num      [20]byte
}

func (s *Server) newConn(c net.Conn) *fastConn {
	fc := &fastConn{s: s, rt: s.rt, c: c,
		br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096), out: make([]byte, 0, 1024)}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		fc.clientIP = []byte(a.IP.String())
	} else if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		fc.clientIP = []byte(host)
	}
	return fc
}

func (c *fastConn) done(handedOff bool) {
	if !handedOff {
		c.c.Close()
	}
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	c.s.wg.Done()
}

func (c *fastConn) serve() {
	for {
		c.busy.Store(false)
		if c.s.shutdown.Load() {
			c.done(false)
			return
		}
		if c.br.Buffered() == 0 {
			c.idleDeadline(time.Now())
			if _, err := c.br.Peek(1); err != nil {
				c.done(false)
				return
			}
		}
		if !c.busy.CompareAndSwap(false, true) { // closed as idle by Shutdown
			c.done(false)
			return
		}
		head, err := c.readHead()
		if err != nil {
			c.done(false)
			return
		}
		var req fastReq
		if head == nil || !parseRequestHead(head, &c.hs, &req) {
			c.handOff()
			return
		}
		if !c.proxy(&req, len(head)) {
			c.done(false)
			return
		}
	}
}

// readHead peeks (without consuming) a whole request head; nil when it does
// not fit the fast path's buffer.
func (c *fastConn) readHead() ([]byte, error) {
	deadline := false
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], nil
		}
		if len(buf) == c.br.Size() {
			return nil, nil
		}
		if !deadline {
			c.rdl = time.Now().Add(c.rt.opts.ReadHeaderTimeout)
			c.c.SetReadDeadline(c.rdl)
			deadline = true
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			return nil, err
		}
	}
}

// handOff gives the connection, with what was read of it, to net/http.
func (c *fastConn) handOff() {
	c.c.SetDeadline(time.Time{})
	hc := &handoffConn{Conn: c.c, r: c.br}
	c.s.handedOff.Add(1)
	if !c.s.handoff.push(hc) {
		c.s.handedOff.Add(-1)
		c.done(false)
		return
	}
	c.done(true)
}

// proxy serves one parsed request; false when the connection must close.
func (c *fastConn) proxy(req *fastReq, headLen int) bool {
	rt := c.rt
	start := time.Now()
	// A router shutting down (or handing over to its successor) says so on
	// each response, so clients reconnect instead of reusing a connection
	// about to close.
	req.close = req.close || c.s.shutdown.Load()
	host := normalizeHost(unsafe.String(unsafe.SliceData(req.host), len(req.host)))
	path := unsafe.String(unsafe.SliceData(req.path), len(req.path))
	v := rt.table.Load().lookup(host, path)
	if v == nil {
		msg := fmt.Sprintf("ferry: no service is routed at %s%s\n", host, path)
		c.br.Discard(headLen)
		return c.writeSimple(http.StatusNotFound, msg, req.close)
	}
	c.rh = rawHeaders(req.hdrs) // a pointer in the interface: no allocation
	gi, setSticky := v.pickGroup(&c.rh, host, rand.IntN)
	for gi < 0 {
		// Right after a restart: wait (bounded) for restored targets.
		nv := rt.awaitRestored(nil, v, host, path)
		if nv == nil {
			break
		}
		v = nv
		gi, setSticky = v.pickGroup(&c.rh, host, rand.IntN)
	}
	if gi < 0 {
		c.br.Discard(headLen)
		rt.record(v, nil, start, http.StatusServiceUnavailable)
		return c.writeSimple(http.StatusServiceUnavailable, "ferry: service "+v.name+" has no healthy target\n", req.close)
	}
	gv := &v.groups[gi]
	c.buildRequest(req)
	// Discarding leaves the head's bytes in place until the connection is
	// read again, after this request: host and path, which point into
	// them, stay valid until proxy returns.
	isHead := string(req.method) == "HEAD"
	clientClose := req.close
	c.br.Discard(headLen)

	v.svc.metrics.inflight.Add(1)
	gv.g.metrics.inflight.Add(1)
	code, keep := c.roundTrip(v, gv, host, path, isHead, clientClose, setSticky)
	v.svc.metrics.inflight.Add(-1)
	gv.g.metrics.inflight.Add(-1)
	rt.record(v, gv, start, code)
	if c.bw.Flush() != nil {
		keep = false
	}
	if rt.opts.AccessLog {
		rt.log.Info("request", "host", strings.Clone(host), "path", strings.Clone(path), "status", code,
			"duration", time.Since(start), "service", v.name, "group", gv.g.name, "remote", string(c.clientIP))
	}
	return keep
}

// buildRequest writes the upstream request head into c.out.
func (c *fastConn) buildRequest(req *fastReq) {
	b := c.out[:0]
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, req.target...)
	b = append(b, " HTTP/1.1\r\n"...)
	for _, h := range req.hdrs {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Forwarded-For: "...)
	if len(req.xff) > 0 {
		b = append(b, req.xff...)
		b = append(b, ", "...)
	}
	b = append(b, c.clientIP...)
	b = append(b, "\r\nX-Forwarded-Host: "...)
	b = append(b, req.host...)
	b = append(b, "\r\nX-Forwarded-Proto: http\r\n"...)
	if !req.hasRequestID {
		b = append(b, "X-Request-Id: "...)
		b = strconv.AppendUint(b, rand.Uint64(), 16)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.out = b
}

var errClientGone = errors.New("client went away")

// roundTrip sends c.out to a target of gv (trying others on failure: every
// fast-path request is replayable) and relays the response. It returns the
// status for metrics and whether the client connection stays open. host and
// path still point into the client's read buffer, unread since the head.
func (c *fastConn) roundTrip(v *serviceView, gv *groupView, host, path string, isHead, clientClose, setSticky bool) (int, bool) {
	rt := c.rt
	tried := c.tried[:0]
	threshold := v.svc.health.Load().unhealthy
	refreshed := false
	var lastErr error
	for len(tried) < maxAttempts {
		t := gv.pickTarget(v.lor, tried)
		if t == nil {
			// The group emptied under the request: look again.
			if refreshed {
				break
			}
			refreshed = true
			nv := rt.table.Load().lookup(host, path)
			if nv == nil {
				break
			}
			gi := nv.fallback()
			if gi < 0 {
				break
			}
			v, gv = nv, &nv.groups[gi]
			continue
		}
		tried = append(tried, t)
		if !t.acquire() {
			continue
		}
		code, keep, err := c.exchange(t, isHead, clientClose, setSticky, gv)
		t.release()
		if err == nil {
			if t.connFails.Load() != 0 {
				t.connFails.Store(0)
			}
			return code, keep
		}
		if errors.Is(err, errClientGone) {
			return 499, false
		}
		lastErr = err
		if isDialError(err) {
			t.connFailed(threshold, err)
		} else {
			t.setErr(err.Error())
		}
	}
	if len(tried) == 0 {
		return http.StatusServiceUnavailable, c.writeSimple(http.StatusServiceUnavailable, "ferry: service "+v.name+" has no healthy target\n", clientClose)
	}
	rt.log.Warn("router: upstream error", "service", v.name, "err", lastErr)
	return http.StatusBadGateway, c.writeSimple(http.StatusBadGateway, "ferry: bad gateway\n", clientClose)
}

// exchange sends the request on a pooled (or new) connection to t and
// relays the response. An error means nothing reached the client, so the
// request may be tried again elsewhere.
func (c *fastConn) exchange(t *target, isHead, clientClose, setSticky bool, gv *groupView) (code int, keep bool, err error) {
	now := time.Now()
	uc := t.pool.get(now)
	reused := uc != nil
	var head []byte
	var resp fastResp
	for {
		if uc == nil {
			if uc, err = t.dialUp(c.rt.opts.ConnectTimeout); err != nil {
				return 0, false, err
			}
		}
		if _, err = uc.Write(c.out); err == nil {
			head, err = readResponseHead(uc.br, &c.rhs, &resp)
		}
		if err == nil {
			break
		}
		uc.Close()
		if !reused {
			return 0, false, err
		}
		reused, uc = false, nil // the target closed an idle connection: once more, fresh
	}
	c.writeDeadline(now)
	bw := c.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(resp.statusText)
	bw.WriteString("\r\n")
	for _, h := range resp.hdrs {
		bw.Write(h.name)
		bw.WriteString(": ")
		bw.Write(h.value)
		bw.WriteString("\r\n")
	}
	if setSticky {
		bw.WriteString("Set-Cookie: " + stickyCookie + "=")
		bw.WriteString(gv.g.name)
		bw.WriteString("; Path=/; HttpOnly; SameSite=Lax\r\n")
	}
	noBody := isHead || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified
	upKeep := !resp.close
	keep = !clientClose
	if resp.contentLength >= 0 {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(c.num[:0], resp.contentLength, 10))
		bw.WriteString("\r\n")
	} else if !resp.chunked && !noBody {
		keep, upKeep = false, false // the body ends when the target closes
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	uc.br.Discard(len(head))
	var berr error
	switch {
	case noBody:
	case resp.chunked:
		berr = c.relayChunked(uc)
	case resp.contentLength >= 0:
		berr = c.copyN(uc, resp.contentLength)
	default:
		berr = c.copyToEOF(uc)
	}
	// The last bytes are flushed by proxy once the target is released and
	// the request counted, so a client that saw its response sees both.
	if berr != nil || !upKeep {
		uc.Close()
	} else {
		t.pool.put(uc, time.Now())
	}
	if berr != nil {
		return resp.status, false, nil
	}
	return resp.status, keep, nil
}

// readResponseHead reads a final response head (skipping 1xx interim ones)
// and parses it; the head stays in br until the caller discards it.
func readResponseHead(br *bufio.Reader, hs *[maxRespHeaders]hdr, resp *fastResp) ([]byte, error) {
	for {
		if _, err := br.Peek(1); err != nil {
			return nil, err
		}
		var head []byte
		for {
			buf, _ := br.Peek(br.Buffered())
			if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
				head = buf[:i+4]
				break
			}
			if len(buf) == br.Size() {
				return nil, errors.New("response head too large")
			}
			if _, err := br.Peek(len(buf) + 1); err != nil {
				return nil, err
			}
		}
		*resp = fastResp{}
		if !parseResponseHead(head, hs, resp) {
			return nil, errors.New("malformed response head")
		}
		if resp.status >= 200 {
			return head, nil
		}
		if resp.status == http.StatusSwitchingProtocols {
			return nil, errors.New("unexpected 101 response")
		}
		br.Discard(len(head)) // 1xx interim response
	}
}

// writeDeadline pushes the client write deadline forward; it is moved at
// most once a second (a deadline change is not free), so it may fall up to
// a second short of WriteTimeout.
func (c *fastConn) writeDeadline(now time.Time) {
	if d := now.Add(c.rt.opts.WriteTimeout); d.Sub(c.wdl) > time.Second {
		c.wdl = d
		c.c.SetWriteDeadline(d)
	}
}

// idleDeadline bounds the wait for the next request, moved at most once a
// second like writeDeadline; a header deadline in between resets it.
func (c *fastConn) idleDeadline(now time.Time) {
	if d := now.Add(c.rt.opts.IdleTimeout); d.Sub(c.rdl) > time.Second {
		c.rdl = d
		c.c.SetReadDeadline(d)
	}
}

// writeSimple answers with a short text body; false when the connection
// must close.
func (c *fastConn) writeSimple(code int, msg string, clientClose bool) bool {
	c.writeDeadline(time.Now())
	bw := c.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteString(" ")
	bw.WriteString(http.StatusText(code))
	bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(msg)))
	if clientClose {
		bw.WriteString("\r\nConnection: close")
	}
	bw.WriteString("\r\n\r\n")
	bw.WriteString(msg)
	return bw.Flush() == nil && !clientClose
}
