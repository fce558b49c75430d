package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Event is one line of the trace. Every scope is optional ("" or 0 = none).
type Event struct {
	ID         int64
	Time       time.Time // set by AppendEvent when zero
	App        string
	Env        string
	Service    string
	Deployment int64
	Task       string
	Preview    int64
	Type       string // e.g. "deployment.started"
	Message    string
	Fields     json.RawMessage // optional JSON object
}

// EventFilter selects events; zero fields do not filter. Results are always
// in ascending ID order.
type EventFilter struct {
	App, Env, Service string
	Deployment        int64
	Task              string
	Preview           int64
	Type              string // exact type, or a prefix ending in "." ("deployment.")
	SinceID           int64  // only events with ID > SinceID
	Limit             int    // at most this many (0 = all)
	// Newest makes Limit keep the newest matching events instead of the
	// oldest (a tail), still returned oldest first.
	Newest bool
}

const eventCols = `id, time, app, env, service, deployment_id, task_id, preview_id, type, message, fields`

func scanEvent(sc interface{ Scan(...any) error }) (Event, error) {
	var e Event
	err := sc.Scan(&e.ID, timeCol{&e.Time}, strCol{&e.App}, strCol{&e.Env}, strCol{&e.Service},
		intCol[int64]{&e.Deployment}, strCol{&e.Task}, intCol[int64]{&e.Preview}, &e.Type, &e.Message, blobCol{&e.Fields})
	return e, err
}

// AppendEvent records e and returns it with its ID and time. Subscribers are
// woken once the surrounding transaction commits.
func (o ops) AppendEvent(ctx context.Context, e Event) (Event, error) {
	if e.Type == "" {
		return Event{}, invalid("event: empty type")
	}
	fields, err := jval("event fields", e.Fields)
	if err != nil {
		return Event{}, err
	}
	if e.Time.IsZero() {
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	err = o.write(ctx, func(t *Tx) error {
		err := t.q.QueryRowContext(ctx, `INSERT INTO events (time, app, env, service, deployment_id, task_id, preview_id, type, message, fields)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tval(e.Time), sval(e.App), sval(e.Env), sval(e.Service), ival(e.Deployment), sval(e.Task), ival(e.Preview),
			e.Type, e.Message, fields).Scan(&e.ID)
		if err != nil {
			return wrap("append event "+e.Type, err)
		}
		t.events = true
		return nil
	})
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

// ListEvents returns the events matching f.
func (o ops) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.App != "" {
		add("app = ?", f.App)
	}
	if f.Env != "" {
		add("env = ?", f.Env)
	}
	if f.Service != "" {
		add("service = ?", f.Service)
	}
	if f.Deployment != 0 {
		add("deployment_id = ?", f.Deployment)
	}
	if f.Task != "" {
		add("task_id = ?", f.Task)
	}
	if f.Preview != 0 {
		add("preview_id = ?", f.Preview)
	}
	if f.Type != "" {
		if strings.HasSuffix(f.Type, ".") {
			add("substr(type, 1, ?) = ?", len(f.Type))
			args = append(args, f.Type)
		} else {
			add("type = ?", f.Type)
		}
	}
	if f.SinceID > 0 {
		add("id > ?", f.SinceID)
	}
	q := "SELECT " + eventCols + " FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	order := "ASC"
	if f.Newest {
		order = "DESC"
	}
	q += " ORDER BY id " + order
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	if f.Newest {
		q = "SELECT * FROM (" + q + ") ORDER BY id ASC"
	}
	rows, err := o.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list events", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, wrap("list events", err)
		}
		out = append(out, e)
	}
	return out, wrap("list events", rows.Err())
}

// Subscribe returns a channel that receives a value after each committed
// transaction that appended events in this process, and a function that
// cancels the subscription. Wake-ups coalesce: a subscriber reads what is new
// with ListEvents{SinceID: last}, so it never misses an event however slow
// it is. The channel is closed by cancel or by Close. Events appended by
// another process do not wake it.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	cancel := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
	}
	return ch, cancel
}

// notify wakes every subscriber without blocking.
func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
