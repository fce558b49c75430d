package router

import (
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	crlf := func(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }
	ok := []string{"GET /a?b=c HTTP/1.1", "Host: x.test", "Accept: */*", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Host: evil", "Connection: keep-alive", "X-Request-Id: r1"}
	var hs [maxFastHeaders]hdr
	var r fastReq
	if !parseRequestHead(crlf(ok...), &hs, &r) {
		t.Fatal("plain GET refused")
	}
	if string(r.path) != "/a" || string(r.target) != "/a?b=c" || string(r.host) != "x.test" || string(r.xff) != "10.0.0.1" || !r.hasRequestID || r.close {
		t.Fatalf("parsed %+v", r)
	}
	for _, h := range r.hdrs {
		if foldEq(h.name, "x-forwarded-host") || foldEq(h.name, "connection") || foldEq(h.name, "x-forwarded-for") {
			t.Errorf("header %s kept for the target", h.name)
		}
	}
	general := map[string][]string{
		"POST":                  {"POST / HTTP/1.1", "Host: x"},
		"HTTP/1.0":              {"GET / HTTP/1.0", "Host: x"},
		"absolute form":         {"GET http://x/ HTTP/1.1", "Host: x"},
		"escaped path":          {"GET /a%2Fb HTTP/1.1", "Host: x"},
		"no host":               {"GET / HTTP/1.1", "Accept: x"},
		"two hosts":             {"GET / HTTP/1.1", "Host: x", "Host: y"},
		"body":                  {"GET / HTTP/1.1", "Host: x", "Content-Length: 5"},
		"chunked":               {"GET / HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"},
		"upgrade":               {"GET / HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade"},
		"connection token":      {"GET / HTTP/1.1", "Host: x", "Connection: X-Hop"},
		"expect":                {"GET / HTTP/1.1", "Host: x", "Expect: 100-continue"},
		"obs-fold":              {"GET / HTTP/1.1", "Host: x", "X-A: 1", " folded"},
		"space before colon":    {"GET / HTTP/1.1", "Host : x"},
		"control char in value": {"GET / HTTP/1.1", "Host: x", "X-A: a\x00b"},
		"two forwarded-for":     {"GET / HTTP/1.1", "Host: x", "X-Forwarded-For: a", "X-Forwarded-For: b"},
	}
	for name, lines := range general {
		var r fastReq
		if parseRequestHead(crlf(lines...), &hs, &r) {
			t.Errorf("%s: taken by the fast path", name)
		}
	}
	if parseRequestHead([]byte("GET / HTTP/1.1\nHost: x\n\n"), &hs, &fastReq{}) {
		t.Errorf("bare LF taken by the fast path")
	}
	var rc fastReq
	if !parseRequestHead(crlf("GET / HTTP/1.1", "Host: x", "Content-Length: 0", "Connection: close"), &hs, &rc) || !rc.close {
		t.Errorf("Connection: close not seen")
	}
}

func TestParseResponseHead(t *testing.T) {
	crlf := func(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }
	var hs [maxRespHeaders]hdr
	cases := []struct {
		name    string
		head    []byte
		ok      bool
		status  int
		cl      int64
		chunked bool
		close   bool
	}{
		{"length", crlf("HTTP/1.1 200 OK", "Content-Length: 12", "Keep-Alive: timeout=5"), true, 200, 12, false, false},
		{"chunked", crlf("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), true, 200, -1, true, false},
		{"both: chunked wins, conn not reused", crlf("HTTP/1.1 200 OK", "Content-Length: 3", "Transfer-Encoding: chunked"), true, 200, -1, true, true},
		{"close-delimited", crlf("HTTP/1.1 200 OK"), true, 200, -1, false, false},
		{"connection close", crlf("HTTP/1.1 204 No Content", "Connection: close"), true, 204, -1, false, true},
		{"HTTP/1.0", crlf("HTTP/1.0 200 OK", "Content-Length: 1"), true, 200, 1, false, true},
		{"same length twice", crlf("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 1"), true, 200, 1, false, false},
		{"conflicting lengths", crlf("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 2"), false, 0, 0, false, false},
		{"gzip transfer coding", crlf("HTTP/1.1 200 OK", "Transfer-Encoding: gzip"), false, 0, 0, false, false},
		{"bad status", crlf("HTTP/1.1 2x0 OK"), false, 0, 0, false, false},
		{"connection token", crlf("HTTP/1.1 200 OK", "Connection: X-Secret"), false, 0, 0, false, false},
	}
	for _, tc := range cases {
		var r fastResp
		ok := parseResponseHead(tc.head, &hs, &r)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.name, ok)
			continue
		}
		if ok && (r.status != tc.status || r.contentLength != tc.cl || r.chunked != tc.chunked || r.close != tc.close) {
			t.Errorf("%s: %+v", tc.name, r)
		}
		for _, h := range r.hdrs {
			if foldEq(h.name, "keep-alive") || foldEq(h.name, "content-length") || foldEq(h.name, "connection") {
				t.Errorf("%s: %s relayed as is", tc.name, h.name)
			}
		}
	}
}

func TestChunkSize(t *testing.T) {
	for line, want := range map[string]int64{"0\r\n": 0, "1a\r\n": 26, "FF;ext=1\r\n": 255, "10 \r\n": 16} {
		if n, ok := chunkSize([]byte(line)); !ok || n != want {
			t.Errorf("chunkSize(%q) = %d %v", line, n, ok)
		}
	}
	for _, bad := range []string{"\r\n", "x\r\n", "1a\n", "-1\r\n", "1234567890abcdef0\r\n"} {
		if _, ok := chunkSize([]byte(bad)); ok {
			t.Errorf("chunkSize(%q) accepted", bad)
		}
	}
}

func TestRawHeadersForRules(t *testing.T) {
	h := rawHeaders{
		{name: []byte("x-ferry-group"), value: []byte("green")},
		{name: []byte("Cookie"), value: []byte(`a=1; ferry-group="blue"; c=3`)},
	}
	if !h.hasValue("X-Ferry-Group", "green") || h.hasValue("X-Ferry-Group", "blue") {
		t.Error("hasValue")
	}
	if !h.cookie("ferry-group", "blue") || !h.cookie("c", "3") || h.cookie("a", "2") || h.cookie("b", "") {
		t.Error("cookie")
	}
}
