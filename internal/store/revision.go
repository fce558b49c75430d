package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Revision is an immutable, numbered snapshot of a service's rendered spec
// and artifact. Spec may contain secrets: never log it; show MaskedSpec.
type Revision struct {
	ServiceID      int64
	Number         int // assigned by CreateRevision: 1, 2, 3…
	Spec           json.RawMessage
	MaskedSpec     json.RawMessage
	ArtifactDigest string
	GitSHA         string // "" when not built from git
	Message        string
	CreatedAt      time.Time
}

// String describes the revision without its spec, so that printing one with
// %v cannot leak a secret.
func (r Revision) String() string {
	return fmt.Sprintf("revision %d of service %d (%s)", r.Number, r.ServiceID, r.ArtifactDigest)
}

// GoString keeps %#v from printing the spec too.
func (r Revision) GoString() string { return r.String() }

const revisionCols = `service_id, number, spec, masked_spec, artifact_digest, git_sha, message, created_at`

func scanRevision(sc interface{ Scan(...any) error }) (Revision, error) {
	var r Revision
	err := sc.Scan(&r.ServiceID, &r.Number, blobCol{&r.Spec}, blobCol{&r.MaskedSpec}, &r.ArtifactDigest,
		strCol{&r.GitSHA}, &r.Message, timeCol{&r.CreatedAt})
	return r, err
}

// CreateRevision stores r as the service's next revision and returns it with
// its number and time. Numbers are allocated in the inserting transaction,
// so concurrent creators get distinct, gapless numbers.
func (o ops) CreateRevision(ctx context.Context, r Revision) (Revision, error) {
	if len(r.Spec) == 0 || len(r.MaskedSpec) == 0 {
		return Revision{}, invalid("revision of service %d: spec and masked spec are required", r.ServiceID)
	}
	spec, err := jval("revision spec", r.Spec)
	if err != nil {
		return Revision{}, err
	}
	masked, err := jval("revision masked spec", r.MaskedSpec)
	if err != nil {
		return Revision{}, err
	}
	if r.ArtifactDigest != "" {
		if err := checkDigest(r.ArtifactDigest); err != nil {
			return Revision{}, err
		}
	}
	r.CreatedAt = now()
	err = o.write(ctx, func(t *Tx) error {
		err := t.q.QueryRowContext(ctx, `INSERT INTO revisions (service_id, number, spec, masked_spec, artifact_digest, git_sha, message, created_at)
			VALUES (?1, (SELECT COALESCE(MAX(number), 0) + 1 FROM revisions WHERE service_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)
			RETURNING number`,
			r.ServiceID, spec, masked, r.ArtifactDigest, sval(r.GitSHA), r.Message, tval(r.CreatedAt)).Scan(&r.Number)
		if err != nil {
			return wrap(fmt.Sprintf("create revision of service %d", r.ServiceID), err)
		}
		return nil
	})
	if err != nil {
		return Revision{}, err
	}
	return r, nil
}

// GetRevision returns revision n of the service.
func (o ops) GetRevision(ctx context.Context, serviceID int64, n int) (Revision, error) {
	r, err := scanRevision(o.q.QueryRowContext(ctx, `SELECT `+revisionCols+` FROM revisions WHERE service_id = ? AND number = ?`, serviceID, n))
	if errors.Is(err, sql.ErrNoRows) {
		return Revision{}, notFound("revision %d of service %d", n, serviceID)
	}
	return r, wrap("get revision", err)
}

// ListRevisions returns the service's revisions, newest first; limit 0 means
// all.
func (o ops) ListRevisions(ctx context.Context, serviceID int64, limit int) ([]Revision, error) {
	if limit <= 0 {
		limit = -1
	}
	return list(ctx, o.q, "list revisions", scanRevision, `SELECT `+revisionCols+` FROM revisions WHERE service_id = ?
		ORDER BY number DESC LIMIT ?`, serviceID, limit)
}
