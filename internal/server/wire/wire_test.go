package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	big := strings.Repeat("x", ChunkSize+10)
	if _, err := io.WriteString(w.Stream(Stdout), big); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteResize(Size{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(StdinEOF, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteExit(-2); err != nil {
		t.Fatal(err)
	}

	var out []byte
	for range 2 { // the big write is split in two frames
		typ, p, err := Read(&buf)
		if err != nil || typ != Stdout {
			t.Fatalf("frame: %v %v", typ, err)
		}
		if len(p) > ChunkSize {
			t.Fatalf("frame of %d bytes exceeds ChunkSize", len(p))
		}
		out = append(out, p...)
	}
	if string(out) != big {
		t.Fatalf("stdout: got %d bytes, want %d", len(out), len(big))
	}
	typ, p, _ := Read(&buf)
	if sz, err := DecodeSize(p); typ != Resize || err != nil || sz != (Size{120, 40}) {
		t.Fatalf("resize: %v %v %v", typ, sz, err)
	}
	if typ, p, _ := Read(&buf); typ != StdinEOF || len(p) != 0 {
		t.Fatalf("eof frame: %v %q", typ, p)
	}
	typ, p, _ = Read(&buf)
	if code, err := ExitCode(p); typ != Exit || err != nil || code != -2 {
		t.Fatalf("exit: %v %d %v", typ, code, err)
	}
	if _, _, err := Read(&buf); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadRejectsBadFrames(t *testing.T) {
	huge := make([]byte, 5)
	huge[0] = byte(Stdout)
	binary.BigEndian.PutUint32(huge[1:], MaxPayload+1)
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"oversized length": {huge, "exceeds"},
		"cut payload":      {[]byte{byte(Stdout), 0, 0, 0, 5, 'a'}, io.ErrUnexpectedEOF.Error()},
		"cut header":       {[]byte{byte(Stdout), 0}, io.ErrUnexpectedEOF.Error()},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := Read(bytes.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := ExitCode([]byte{1}); err == nil {
		t.Fatal("short exit payload accepted")
	}
	if _, err := DecodeSize([]byte{1, 2, 3}); err == nil {
		t.Fatal("short resize payload accepted")
	}
	if err := NewWriter(io.Discard).Write(Stdout, make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("oversized payload written")
	}
	if _, _, err := Read(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Fatalf("empty stream: %v", err)
	}
}
