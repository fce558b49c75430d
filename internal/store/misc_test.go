package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApps(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	a, err := s.PutApp(ctx, App{Name: "shop", Repo: "/old"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.PutApp(ctx, App{Name: "shop", Repo: "/new"})
	if err != nil || b.ID != a.ID || b.Repo != "/new" || !b.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("re-put: %+v %v (first %+v)", b, err, a)
	}
	if _, err := s.PutApp(ctx, App{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("app without name: %v", err)
	}
	apps, _ := s.ListApps(ctx)
	if len(apps) != 1 {
		t.Fatalf("apps: %+v", apps)
	}
	if _, err := s.GetApp(ctx, "blog"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"blog"`) {
		t.Fatalf("missing app: %v", err)
	}
}

func TestArtifacts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	digest := "sha256:" + strings.Repeat("0f", 32)
	a, err := s.PutArtifact(ctx, Artifact{Digest: digest, Size: 10, Path: "/a", App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PutArtifact(ctx, Artifact{Digest: digest, Size: 10, Path: "/a", App: "shop"})
	if err != nil || !again.CreatedAt.Equal(a.CreatedAt) || again.LastUsedAt.Before(a.LastUsedAt) {
		t.Fatalf("re-put: %+v %v", again, err)
	}
	for _, bad := range []string{"", "sha256:abc", "sha1:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("G", 64), "sha256:" + strings.Repeat("AB", 32)} {
		if _, err := s.PutArtifact(ctx, Artifact{Digest: bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("digest %q: %v", bad, err)
		}
	}
	svc := fixture(t, s)
	if _, err := s.CreateRevision(ctx, Revision{ServiceID: svc.ID, Spec: []byte(`{}`), MaskedSpec: []byte(`{}`), ArtifactDigest: digest}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListArtifacts(ctx); len(list) != 1 {
		t.Fatalf("artifacts: %+v", list)
	}
}

func TestDeliveries(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	d, err := s.EnqueueDelivery(ctx, Delivery{DeliveryID: "gh-1", Event: "push", Payload: []byte(`{"ref":"main"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueDelivery(ctx, Delivery{DeliveryID: "gh-1", Event: "push"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("redelivery: %v, want ErrConflict", err)
	}
	later := time.Now().Add(time.Hour)
	if _, err := s.EnqueueDelivery(ctx, Delivery{DeliveryID: "gh-2", Event: "pull_request", NextAttemptAt: later}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueDeliveries(ctx, time.Now(), 0)
	if err != nil || len(due) != 1 || due[0].ID != d.ID || string(due[0].Payload) != `{"ref":"main"}` {
		t.Fatalf("due: %+v %v", due, err)
	}
	retry := time.Now().Add(2 * time.Hour)
	r, err := s.RecordDeliveryAttempt(ctx, "gh-1", DeliveryQueued, retry, "build failed")
	if err != nil || r.Attempts != 1 || r.Error != "build failed" {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if due, _ = s.DueDeliveries(ctx, time.Now(), 0); len(due) != 0 {
		t.Fatalf("retried delivery due early: %+v", due)
	}
	if due, _ = s.DueDeliveries(ctx, retry.Add(time.Hour), 1); len(due) != 1 || due[0].DeliveryID != "gh-2" {
		t.Fatalf("limit 1 picks the oldest due: %+v", due)
	}
	if _, err := s.RecordDeliveryAttempt(ctx, "gh-1", DeliveryDone, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDeliveryAttempt(ctx, "gh-1", DeliveryQueued, retry, ""); !errors.Is(err, ErrTerminal) {
		t.Fatalf("attempt on a finished delivery: %v", err)
	}
	if _, err := s.RecordDeliveryAttempt(ctx, "gh-2", DeliveryQueued, time.Time{}, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("retry without time: %v", err)
	}
	n, err := s.DeleteDeliveriesBefore(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := s.GetDelivery(ctx, "gh-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("purged delivery: %v", err)
	}
}

func TestMeta(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.GetMeta(ctx, "api_token_hash"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing meta: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.SetMeta(ctx, "api_token_hash", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.GetMeta(ctx, "api_token_hash"); err != nil || v != "two" {
		t.Fatalf("meta: %q %v", v, err)
	}
	if err := s.DeleteMeta(ctx, "api_token_hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMeta(ctx, "api_token_hash"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestTimesRoundTripInUTCWithNanoseconds(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	svc := fixture(t, s)
	r := newRevision(t, s, svc.ID)
	deadline := time.Date(2026, 7, 8, 9, 10, 11, 987654321, time.FixedZone("X", -5*3600))
	d, err := s.CreateDeployment(ctx, Deployment{ServiceID: svc.ID, ToRevision: r.Number, Strategy: "rolling", ProgressDeadlineAt: deadline})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetDeployment(ctx, d.ID)
	if !got.ProgressDeadlineAt.Equal(deadline) || got.ProgressDeadlineAt.Location() != time.UTC || got.ProgressDeadlineAt.Nanosecond() != 987654321 {
		t.Fatalf("deadline %v, want %v", got.ProgressDeadlineAt, deadline)
	}
	if !got.CreatedAt.Equal(d.CreatedAt) || !got.FinishedAt.IsZero() {
		t.Fatalf("created %v vs %v, finished %v", got.CreatedAt, d.CreatedAt, got.FinishedAt)
	}
	var raw string
	if err := s.r.QueryRow(`SELECT progress_deadline_at FROM deployments WHERE id = ?`, d.ID).Scan(&raw); err != nil || raw != "2026-07-08T14:10:11.987654321Z" {
		t.Fatalf("stored as %q (%v)", raw, err)
	}
}
