package router

import (
	"bytes"
	"strings"
)

// The fast path's HTTP/1.1 head parsing. It accepts only the plainest
// requests (GET, HEAD or OPTIONS, origin-form target without escapes,
// HTTP/1.1, one Host, no body, no Upgrade/Expect/TE, Connection limited to
// keep-alive or close) and says "not for me" to everything else, which
// net/http then serves: the fast path never has to be lenient.

// Header lines the fast path accepts: a request with more takes the general
// path; a response with more (or a head over upConn's 16 KiB buffer) fails
// with 502.
const (
	maxFastHeaders = 64
	maxRespHeaders = 128
)

// hdr is one header line, both slices into the head.
type hdr struct{ name, value []byte }

// fastReq is a parsed request head.
type fastReq struct {
	method, target, path []byte
	host                 []byte
	xff                  []byte // incoming X-Forwarded-For, appended to
	hasRequestID         bool
	close                bool // Connection: close
	hdrs                 []hdr
}

// parseRequestHead parses head (ending in CRLFCRLF) into a zero r, using hs
// for the header lines. ok is false when the request must take the general path.
func parseRequestHead(head []byte, hs *[maxFastHeaders]hdr, r *fastReq) (ok bool) {
	line, rest, found := cutLine(head)
	if !found {
		return false
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return false
	}
	r.method = line[:sp1]
	switch string(r.method) {
	case "GET", "HEAD", "OPTIONS":
	default:
		return false
	}
	tail := line[sp1+1:]
	sp2 := bytes.IndexByte(tail, ' ')
	if sp2 <= 0 || string(tail[sp2+1:]) != "HTTP/1.1" {
		return false
	}
	r.target = tail[:sp2]
	if r.target[0] != '/' {
		return false
	}
	r.path = r.target
	inQuery := false
	for i, c := range r.target {
		if c < ' ' || c == 0x7f { // net/url refuses control bytes anywhere
			return false
		}
		if inQuery {
			continue
		}
		if c == '?' {
			r.path = r.target[:i]
			inQuery = true
			continue
		}
		if c == '%' || c == '#' {
			return false
		}
	}
	n := 0
	for {
		line, rest, found = cutLine(rest)
		if !found {
			return false
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || n == maxFastHeaders || !isToken(line[:colon]) {
			return false // also rejects obs-fold and "Name : value"
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return false
			}
		}
		switch {
		case foldEq(name, "host"):
			if r.host != nil {
				return false
			}
			r.host = value
		case foldEq(name, "content-length"):
			if string(value) != "0" {
				return false
			}
			continue
		case foldEq(name, "transfer-encoding"), foldEq(name, "upgrade"), foldEq(name, "expect"), foldEq(name, "te"), foldEq(name, "trailer"):
			return false
		case foldEq(name, "connection"):
			switch {
			case foldEq(value, "close"):
				r.close = true
			case foldEq(value, "keep-alive"):
			default:
				return false // other tokens name hop-by-hop headers to strip
			}
			continue
		case foldEq(name, "keep-alive"), foldEq(name, "proxy-connection"),
			foldEq(name, "x-forwarded-host"), foldEq(name, "x-forwarded-proto"), foldEq(name, "forwarded"):
			continue
		case foldEq(name, "x-forwarded-for"):
			if r.xff != nil {
				return false
			}
			r.xff = value
			continue
		case foldEq(name, "x-request-id"):
			r.hasRequestID = true
		}
		hs[n] = hdr{name: name, value: value}
		n++
	}
	if len(r.host) == 0 || len(rest) != 0 {
		return false
	}
	r.hdrs = hs[:n]
	return true
}

// fastResp is a parsed response head.
type fastResp struct {
	status        int
	statusText    []byte // "200 OK"
	contentLength int64  // -1: none
	chunked       bool
	close         bool // the target closes: not reusable
	hdrs          []hdr
}

// parseResponseHead parses a target's response head. ok is false for a
// head the router will not relay (the request then fails with 502).
func parseResponseHead(head []byte, hs *[maxRespHeaders]hdr, r *fastResp) (ok bool) {
	line, rest, found := cutLine(head)
	if !found || len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return false
	}
	r.close = line[7] != '1'
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	r.status, r.statusText, r.contentLength = code, line[9:], -1
	n := 0
	for {
		line, rest, found = cutLine(rest)
		if !found {
			return false
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || n == maxRespHeaders || !isToken(line[:colon]) {
			return false
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case foldEq(name, "content-length"):
			v, ok := parseUint(value)
			if !ok || r.contentLength >= 0 && r.contentLength != v {
				return false
			}
			r.contentLength = v
			continue // written back by the relay
		case foldEq(name, "transfer-encoding"):
			if !foldEq(value, "chunked") || r.chunked {
				return false
			}
			r.chunked = true
		case foldEq(name, "connection"):
			if hasToken(value, "close") {
				r.close = true
			} else if !foldEq(value, "keep-alive") {
				return false // other tokens name hop-by-hop headers to strip
			}
			continue
		case foldEq(name, "keep-alive"), foldEq(name, "proxy-connection"), foldEq(name, "upgrade"):
			continue
		}
		hs[n] = hdr{name: name, value: value}
		n++
	}
	if r.chunked && r.contentLength >= 0 {
		// Chunked wins over a length, and the connection is not trusted
		// again (RFC 9112 6.3).
		r.contentLength, r.close = -1, true
	}
	r.hdrs = hs[:n]
	return true
}

// cutLine splits at the first CRLF; a bare LF is not accepted.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	return b[:i-1], b[i+1:], true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// foldEq compares b to a lower-case ASCII s, ignoring b's case.
func foldEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// foldEqStr compares two ASCII strings ignoring case.
func foldEqStr(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		var t []byte
		if i < 0 {
			t, v = v, nil
		} else {
			t, v = v[:i], v[i+1:]
		}
		if foldEq(trimOWS(t), tok) {
			return true
		}
	}
	return false
}

// tokenChar marks the bytes allowed in a header name (RFC 9110 5.6.2).
var tokenChar = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c)
	}
	return t
}()

func isToken(b []byte) bool {
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// rawHeaders gives rules and stickiness the fast path's header lines.
type rawHeaders []hdr

func (h rawHeaders) hasValue(key, value string) bool {
	for _, x := range h {
		if foldEqStr(x.name, key) && string(x.value) == value {
			return true
		}
	}
	return false
}

func (h rawHeaders) cookie(name, value string) bool {
	for _, x := range h {
		if !foldEq(x.name, "cookie") {
			continue
		}
		line := x.value
		for len(line) > 0 {
			var part []byte
			if i := bytes.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, nil
			}
			part = trimOWS(part)
			if eq := bytes.IndexByte(part, '='); eq > 0 && string(part[:eq]) == name {
				v := part[eq+1:]
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				if string(v) == value {
					return true
				}
			}
		}
	}
	return false
}
