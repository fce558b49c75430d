// Package wire owns what the control plane's server (internal/server) and
// client (internal/client) must agree on byte for byte: the JSON error
// document, the health document, the names of the exec upgrade headers and
// the framing of an exec session. It does no I/O of its own beyond reading and
// writing frames on the stream it is given, and knows nothing of commands or tasks.
//
// After the HTTP upgrade, an exec connection carries frames in both
// directions. A frame is one type byte, a 4-byte big-endian payload length, then the
// payload. Client → server: Stdin, StdinEOF, Resize. Server → client:
// Stdout, Stderr, Error, then exactly one Exit, after which the server closes.
package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// Type is a frame's kind.
type Type byte

// Frame types.
const (
	Stdin    Type = 0 // payload: bytes for the command's stdin
	Stdout   Type = 1 // payload: bytes the command wrote to stdout
	Stderr   Type = 2 // payload: bytes the command wrote to stderr
	Exit     Type = 3 // payload: 4-byte big-endian exit code (signed)
	Resize   Type = 4 // payload: 2-byte cols, 2-byte rows (big-endian)
	StdinEOF Type = 5 // no payload: the client's stdin is closed
	Error    Type = 6 // payload: a JSON error document {"error","hint"}
)

// Protocol is the token sent in the Upgrade header.
const Protocol = "ferry-exec/1"

// MaxPayload bounds one frame so a corrupt or hostile length cannot make the
// reader allocate without limit.
const MaxPayload = 1 << 20

// ChunkSize is how much of a stream a writer puts in one frame.
const ChunkSize = 32 << 10

// Size is a terminal size.
type Size struct{ Cols, Rows uint16 }

// Writer writes frames; it is safe for concurrent use so stdout and stderr
// can be copied from separate goroutines.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sends one frame (payloads longer than MaxPayload are an error).
func (fw *Writer) Write(t Type, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("exec frame: payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	var hdr [5]byte
	hdr[0] = byte(t)
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, err := fw.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := fw.w.Write(payload)
	return err
}

// WriteExit sends the exit frame.
func (fw *Writer) WriteExit(code int) error {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], uint32(int32(code)))
	return fw.Write(Exit, p[:])
}

// WriteResize sends a resize frame.
func (fw *Writer) WriteResize(s Size) error {
	var p [4]byte
	binary.BigEndian.PutUint16(p[:2], s.Cols)
	binary.BigEndian.PutUint16(p[2:], s.Rows)
	return fw.Write(Resize, p[:])
}

// Stream returns an io.Writer that wraps everything written into frames of
// type t, split at ChunkSize.
func (fw *Writer) Stream(t Type) io.Writer { return streamWriter{fw, t} }

type streamWriter struct {
	fw *Writer
	t  Type
}

func (s streamWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), ChunkSize)
		if err := s.fw.Write(s.t, p[:c]); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// Read reads one frame from r. A clean end of stream before a frame starts
// is io.EOF; a frame cut short is io.ErrUnexpectedEOF.
func Read(r io.Reader) (Type, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("exec frame: payload of %d bytes exceeds %d", n, MaxPayload)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return Type(hdr[0]), p, nil
}

// ExitCode decodes an Exit payload.
func ExitCode(p []byte) (int, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("exec frame: exit payload is %d bytes, want 4", len(p))
	}
	return int(int32(binary.BigEndian.Uint32(p))), nil
}

// DecodeSize decodes a Resize payload.
func DecodeSize(p []byte) (Size, error) {
	if len(p) != 4 {
		return Size{}, fmt.Errorf("exec frame: resize payload is %d bytes, want 4", len(p))
	}
	return Size{Cols: binary.BigEndian.Uint16(p[:2]), Rows: binary.BigEndian.Uint16(p[2:])}, nil
}
