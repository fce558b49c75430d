package store

import (
	"context"
	"database/sql"
	"errors"
)

// GetMeta returns the value stored under key.
func (o ops) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := o.q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("meta %q", key)
	}
	return v, wrap("get meta", err)
}

// SetMeta stores value under key, replacing any previous value.
func (o ops) SetMeta(ctx context.Context, key, value string) error {
	if key == "" {
		return invalid("meta: empty key")
	}
	return o.write(ctx, func(t *Tx) error {
		_, err := t.q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return wrap("set meta "+key, err)
	})
}

// DeleteMeta removes key.
func (o ops) DeleteMeta(ctx context.Context, key string) error {
	return o.write(ctx, func(t *Tx) error {
		return affected(t.q.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, key))("delete meta", "meta %q", key)
	})
}
