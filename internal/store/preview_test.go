package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPreviewIdentityIsUnique(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	mk := func(pr int, branch, slug string) Preview {
		return Preview{App: "shop", Repo: "github.com/acme/shop", PR: pr, Branch: branch, Slug: slug, Env: "env-" + slug, Host: slug + ".preview.test"}
	}
	if _, err := s.CreatePreview(ctx, mk(42, "feature-x", "feature-x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePreview(ctx, mk(0, "feature-x", "feature-x-branch")); err != nil {
		t.Fatalf("a branch preview beside a pr preview of the same branch: %v", err)
	}
	for _, tc := range []struct {
		name string
		p    Preview
		want error
	}{
		{"same pr", mk(42, "other", "other"), ErrConflict},
		{"same branch without pr", mk(0, "feature-x", "again"), ErrConflict},
		{"same host", mk(43, "y", "feature-x"), ErrConflict},
		{"another pr on the same branch", mk(44, "feature-x", "pr-44"), nil},
		{"another repo, same pr", Preview{App: "blog", Repo: "github.com/acme/blog", PR: 42, Branch: "b", Slug: "blog-42", Env: "pr-42", Host: "blog-42.preview.test"}, nil},
		{"neither pr nor branch", mk(0, "", "nothing"), ErrInvalid},
		{"missing host", Preview{Repo: "r", PR: 1, Slug: "s", Env: "e"}, ErrInvalid},
		{"unknown state", Preview{Repo: "r", PR: 1, Slug: "s", Env: "e", Host: "h", State: "dancing"}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreatePreview(ctx, tc.p)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CreatePreview = %v, want %v", err, tc.want)
			}
		})
	}

	byPR, err := s.FindPreview(ctx, PreviewKey{Repo: "github.com/acme/shop", PR: 42})
	if err != nil || byPR.Slug != "feature-x" || byPR.State != PreviewCreating {
		t.Fatalf("by pr: %+v %v", byPR, err)
	}
	byBranch, err := s.FindPreview(ctx, PreviewKey{Repo: "github.com/acme/shop", Branch: "feature-x"})
	if err != nil || byBranch.Slug != "feature-x-branch" || byBranch.PR != 0 {
		t.Fatalf("by branch: %+v %v", byBranch, err)
	}
	if _, err := s.FindPreview(ctx, PreviewKey{Repo: "github.com/acme/shop", PR: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing preview: %v", err)
	}
}

func TestPreviewUpdateAndExpiry(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	past := time.Now().Add(-time.Hour)
	p, err := s.CreatePreview(ctx, Preview{App: "shop", Repo: "r", PR: 1, Branch: "b", Slug: "b", Env: "pr-1", Host: "b.test", ExpiresAt: past})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePreview(ctx, Preview{App: "shop", Repo: "r", PR: 2, Branch: "c", Slug: "c", Env: "pr-2", Host: "c.test", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	expired, err := s.ListPreviews(ctx, PreviewFilter{ExpiredBefore: time.Now()})
	if err != nil || len(expired) != 1 || expired[0].ID != p.ID {
		t.Fatalf("expired: %+v %v", expired, err)
	}
	p.State, p.HeadSHA, p.URL, p.PR, p.Repo = PreviewReady, "abc123", "http://b.test", 99, "elsewhere"
	u, err := s.UpdatePreview(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if u.PR != 1 || u.Repo != "r" {
		t.Fatalf("update changed the identity: %+v", u)
	}
	got, _ := s.GetPreview(ctx, p.ID)
	if got.State != PreviewReady || got.HeadSHA != "abc123" || got.URL != "http://b.test" || got.PR != 1 {
		t.Fatalf("after update: %+v", got)
	}
	ready, _ := s.ListPreviews(ctx, PreviewFilter{App: "shop", State: PreviewReady})
	if len(ready) != 1 {
		t.Fatalf("ready previews: %+v", ready)
	}
	if err := s.DeletePreview(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePreview(ctx, p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
