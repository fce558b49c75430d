package store

import (
	"context"
	"database/sql"
)

// list runs a query and scans every row.
func list[T any](ctx context.Context, q querier, what string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, v)
	}
	return out, wrap(what, rows.Err())
}

// affected turns an Exec result into ErrNotFound when no row matched.
func affected(res sql.Result, err error) func(what, format string, args ...any) error {
	return func(what, format string, args ...any) error {
		if err != nil {
			return wrap(what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrap(what, err)
		}
		if n == 0 {
			return notFound(format, args...)
		}
		return nil
	}
}
