package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// timeLayout is fixed-width so that stored times sort as text, in UTC with
// nanosecond precision.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// tval stores t as UTC text; the zero time is NULL.
func tval(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// sval stores "" as NULL (for columns where absence is meaningful).
func sval(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ival stores 0 as NULL (for optional references such as a revision number).
func ival[T ~int | ~int64](n T) any {
	if n == 0 {
		return nil
	}
	return int64(n)
}

// jval checks that b is JSON and stores it; empty is NULL.
func jval(field string, b json.RawMessage) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, invalid("%s: not valid JSON", field)
	}
	return []byte(b), nil
}

// timeCol scans a nullable text time.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*c.p = time.Time{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	*c.p = t.UTC()
	return nil
}

// strCol scans a nullable text column into a string ("" for NULL).
type strCol struct{ p *string }

func (c strCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = ""
	case string:
		*c.p = v
	case []byte:
		*c.p = string(v)
	default:
		return fmt.Errorf("text column: unexpected %T", src)
	}
	return nil
}

// intCol scans a nullable integer column (0 for NULL).
type intCol[T ~int | ~int64] struct{ p *T }

func (c intCol[T]) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = 0
	case int64:
		*c.p = T(v)
	default:
		return fmt.Errorf("integer column: unexpected %T", src)
	}
	return nil
}

// ptrCol scans a nullable integer column into a pointer (nil for NULL), for
// values where zero is meaningful (an exit code, a scale of 0).
type ptrCol struct{ p **int }

func (c ptrCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case int64:
		n := int(v)
		*c.p = &n
	default:
		return fmt.Errorf("integer column: unexpected %T", src)
	}
	return nil
}

// pval stores a nil pointer as NULL.
func pval(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// blobCol scans a nullable blob, copying it out of the driver's buffer.
type blobCol struct{ p *json.RawMessage }

func (c blobCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case []byte:
		*c.p = append(json.RawMessage(nil), v...)
	case string:
		*c.p = json.RawMessage(v)
	default:
		return fmt.Errorf("blob column: unexpected %T", src)
	}
	return nil
}
