package preview

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/store"
)

func TestSecretsStayOutOfThePreviewTrace(t *testing.T) {
	f := newFixture(t, "", nil)
	const secret = "s3cr3t-value-42"
	dir := f.m.cfg.Home.SecretsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "TOKEN"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	f.repo.git("checkout", "--quiet", "-b", "leaky")
	f.repo.write(map[string]string{"ferry.yaml": `app: shop
build:
  steps:
    - name: app
      env: {TOKEN: '{{ secret "TOKEN" }}'}
      run: echo "token=$TOKEN" && mkdir -p out && cp web version out/
  output: out
services:
  web: {command: [./web], port: http, routes: [{host: shop.example.com}], env: {DB: 'postgres://u:{{ secret "TOKEN" }}@db'}}
preview:
  hooks:
    on_create: {command: [sh, -c, 'echo "db is $DB; token $TOKEN"; exit 3'], timeout: 5s}
`})
	sha := f.repo.commit("leaky")
	f.repo.git("push", "--quiet", "origin", "leaky")
	t.Setenv("DB", "postgres://u:"+secret+"@db") // what the hook may print
	t.Setenv("TOKEN", secret)
	p, err := f.m.Upsert(context.Background(), Change{Repo: "acme/shop", PR: 1, Branch: "leaky", SHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	masked := 0
	for _, e := range evs {
		if strings.Contains(e.Message, secret) {
			t.Errorf("event %s leaks the secret: %s", e.Type, e.Message)
		}
		if e.Preview == p.ID && strings.Contains(e.Message, "***") {
			masked++
		}
	}
	if masked < 2 {
		t.Errorf("want the build output and the hook output in the trace, masked; %d masked lines in %d events", masked, len(evs))
	}
}
