package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DeliveryState is where a received webhook is in its processing.
type DeliveryState string

// Delivery states.
const (
	DeliveryQueued DeliveryState = "queued"
	DeliveryDone   DeliveryState = "done"
	DeliveryFailed DeliveryState = "failed"
)

// Valid reports whether s is a known state.
func (s DeliveryState) Valid() bool {
	return s == DeliveryQueued || s == DeliveryDone || s == DeliveryFailed
}

// Delivery is a received webhook waiting to be processed. DeliveryID is the
// sender's id (GitHub's X-GitHub-Delivery): a redelivery is a conflict, so
// each one is processed once.
type Delivery struct {
	ID            int64
	DeliveryID    string
	Event         string
	Payload       []byte
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	Error         string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const deliveryCols = `id, delivery_id, event, payload, state, attempts, next_attempt_at, error, created_at, updated_at`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	err := sc.Scan(&d.ID, &d.DeliveryID, &d.Event, &d.Payload, &d.State, &d.Attempts, timeCol{&d.NextAttemptAt},
		&d.Error, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt})
	return d, err
}

// EnqueueDelivery queues a webhook, due now unless NextAttemptAt is set. A
// DeliveryID seen before is ErrConflict.
func (o ops) EnqueueDelivery(ctx context.Context, d Delivery) (Delivery, error) {
	if d.DeliveryID == "" {
		return Delivery{}, invalid("delivery: empty delivery id")
	}
	if d.Payload == nil {
		d.Payload = []byte{}
	}
	d.State, d.Attempts, d.Error = DeliveryQueued, 0, ""
	d.CreatedAt = now()
	d.UpdatedAt = d.CreatedAt
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	err := o.write(ctx, func(t *Tx) error {
		err := t.q.QueryRowContext(ctx, `INSERT INTO deliveries (delivery_id, event, payload, state, attempts, next_attempt_at,
			error, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, '', ?, ?) RETURNING id`,
			d.DeliveryID, d.Event, d.Payload, d.State, tval(d.NextAttemptAt), tval(d.CreatedAt), tval(d.UpdatedAt)).Scan(&d.ID)
		return wrap(fmt.Sprintf("enqueue delivery %q", d.DeliveryID), err)
	})
	if err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// GetDelivery returns the delivery with this sender id.
func (o ops) GetDelivery(ctx context.Context, deliveryID string) (Delivery, error) {
	d, err := scanDelivery(o.q.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE delivery_id = ?`, deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, notFound("delivery %q", deliveryID)
	}
	return d, wrap("get delivery", err)
}

// DueDeliveries returns up to limit queued deliveries due at or before at,
// oldest due first; limit 0 means all.
func (o ops) DueDeliveries(ctx context.Context, at time.Time, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = -1
	}
	return list(ctx, o.q, "due deliveries", scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, tval(at), limit)
}

// RecentDeliveries returns the limit deliveries received last, newest
// first, whatever their state (limit 0 means all).
func (o ops) RecentDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = -1
	}
	return list(ctx, o.q, "recent deliveries", scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		ORDER BY id DESC LIMIT ?`, limit)
}

// RecordDeliveryAttempt counts one attempt and its outcome: state done or
// failed ends it; queued retries it at next (with errMsg kept for display).
func (o ops) RecordDeliveryAttempt(ctx context.Context, deliveryID string, state DeliveryState, next time.Time, errMsg string) (Delivery, error) {
	if !state.Valid() {
		return Delivery{}, invalid("delivery %q: unknown state %q", deliveryID, state)
	}
	if state == DeliveryQueued && next.IsZero() {
		return Delivery{}, invalid("delivery %q: a retry needs a next attempt time", deliveryID)
	}
	var out Delivery
	err := o.write(ctx, func(t *Tx) error {
		d, err := t.GetDelivery(ctx, deliveryID)
		if err != nil {
			return err
		}
		if d.State != DeliveryQueued {
			return wrapTerminal(fmt.Sprintf("delivery %q", deliveryID), string(d.State))
		}
		d.Attempts++
		d.State, d.Error = state, errMsg
		if !next.IsZero() {
			d.NextAttemptAt = next.UTC()
		}
		d.UpdatedAt = now()
		if _, err := t.q.ExecContext(ctx, `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, error = ?,
			updated_at = ? WHERE id = ?`, d.State, d.Attempts, tval(d.NextAttemptAt), d.Error, tval(d.UpdatedAt), d.ID); err != nil {
			return wrap(fmt.Sprintf("record delivery %q", deliveryID), err)
		}
		out = d
		return nil
	})
	return out, err
}

// DeleteDeliveriesBefore removes finished deliveries last updated before t
// and returns how many went.
func (o ops) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := o.write(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM deliveries WHERE state <> 'queued' AND updated_at < ?`, tval(t))
		if err != nil {
			return wrap("delete deliveries", err)
		}
		n, err = res.RowsAffected()
		return wrap("delete deliveries", err)
	})
	return n, err
}
