package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRevisionsAreImmutableAndNeverPrintTheirSpec(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	r := newRevision(t, s, svc.ID)
	if r.Number != 1 || r.CreatedAt.IsZero() {
		t.Fatalf("created: %v", r)
	}
	got, err := s.GetRevision(ctx, svc.ID, 1)
	if err != nil || string(got.Spec) != `{"env":{"DB":"hunter2"}}` || string(got.MaskedSpec) != `{"env":{"DB":"***"}}` || got.GitSHA != "" {
		t.Fatalf("round trip: %s %s %v", got.Spec, got.MaskedSpec, err)
	}
	if _, err := s.w.Exec(`UPDATE revisions SET message = 'changed' WHERE service_id = ?`, svc.ID); err == nil ||
		!strings.Contains(err.Error(), "immutable") {
		t.Fatalf("UPDATE of a revision: %v, want refusal", err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, got); strings.Contains(out, "hunter2") {
			t.Errorf("%s of a revision shows the secret: %s", format, out)
		}
	}

	digest := "sha256:" + strings.Repeat("ab", 32)
	r2, err := s.CreateRevision(ctx, Revision{ServiceID: svc.ID, Spec: []byte(`{}`), MaskedSpec: []byte(`{}`),
		ArtifactDigest: digest, GitSHA: "deadbeef", Message: "second"})
	if err != nil || r2.Number != 2 {
		t.Fatalf("second: %v %v", r2, err)
	}
	all, err := s.ListRevisions(ctx, svc.ID, 0)
	if err != nil || len(all) != 2 || all[0].Number != 2 || all[0].GitSHA != "deadbeef" || all[0].ArtifactDigest != digest {
		t.Fatalf("latest: %v %v", all, err)
	}
	last, _ := s.ListRevisions(ctx, svc.ID, 1)
	if len(last) != 1 || last[0].Number != 2 {
		t.Fatalf("list limit 1: %v", last)
	}

	for _, tc := range []struct {
		name string
		r    Revision
		want error
	}{
		{"no spec", Revision{ServiceID: svc.ID, MaskedSpec: []byte(`{}`)}, ErrInvalid},
		{"bad json", Revision{ServiceID: svc.ID, Spec: []byte(`{`), MaskedSpec: []byte(`{}`)}, ErrInvalid},
		{"bad digest", Revision{ServiceID: svc.ID, Spec: []byte(`{}`), MaskedSpec: []byte(`{}`), ArtifactDigest: "md5:x"}, ErrInvalid},
		{"missing service", Revision{ServiceID: 999, Spec: []byte(`{}`), MaskedSpec: []byte(`{}`)}, ErrConflict},
	} {
		if _, err := s.CreateRevision(ctx, tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.GetRevision(ctx, svc.ID, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing revision: %v", err)
	}
	if none, err := s.ListRevisions(ctx, svc.ID+1, 0); err != nil || len(none) != 0 {
		t.Fatalf("revisions of a service without revisions: %v %v", none, err)
	}
}
