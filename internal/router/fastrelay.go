package router

import (
	"bytes"
	"errors"
	"io"
	"time"
)

// fill flushes what the client has not seen yet before the next read from
// the target would block, so streams flow as they come.
func (c *fastConn) fill(uc *upConn) error {
	if uc.br.Buffered() > 0 {
		return nil
	}
	if c.bw.Buffered() > 0 {
		c.writeDeadline(time.Now())
		if err := c.bw.Flush(); err != nil {
			return errClientGone
		}
	}
	return nil
}

func (c *fastConn) copyN(uc *upConn, n int64) error {
	for n > 0 {
		if err := c.fill(uc); err != nil {
			return err
		}
		if _, err := uc.br.Peek(1); err != nil {
			return err
		}
		k := uc.br.Buffered()
		if int64(k) > n {
			k = int(n)
		}
		b, _ := uc.br.Peek(k)
		if _, err := c.bw.Write(b); err != nil {
			return errClientGone
		}
		uc.br.Discard(k)
		n -= int64(k)
	}
	return nil
}

func (c *fastConn) copyToEOF(uc *upConn) error {
	for {
		if err := c.fill(uc); err != nil {
			return err
		}
		if _, err := uc.br.Peek(1); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		b, _ := uc.br.Peek(uc.br.Buffered())
		if _, err := c.bw.Write(b); err != nil {
			return errClientGone
		}
		uc.br.Discard(len(b))
	}
}

// relayChunked copies a chunked body verbatim, checking its framing.
func (c *fastConn) relayChunked(uc *upConn) error {
	for {
		if err := c.fill(uc); err != nil {
			return err
		}
		line, err := uc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, ok := chunkSize(line)
		if !ok {
			return errors.New("malformed chunk size")
		}
		if _, err := c.bw.Write(line); err != nil {
			return errClientGone
		}
		if size == 0 {
			for { // trailers, up to the empty line
				if err := c.fill(uc); err != nil {
					return err
				}
				line, err := uc.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if _, err := c.bw.Write(line); err != nil {
					return errClientGone
				}
				if len(line) == 2 && line[0] == '\r' {
					return nil
				}
			}
		}
		if err := c.copyN(uc, size+2); err != nil { // data and its CRLF
			return err
		}
	}
}

// chunkSize parses "1a2b[;ext]\r\n".
func chunkSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, false
	}
	line = line[:len(line)-2]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = trimOWS(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, ch := range line {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
