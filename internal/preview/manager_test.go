package preview

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/github"
	"github.com/ferrycd/ferry/internal/github/githubtest"
	"github.com/ferrycd/ferry/internal/store"
)

func TestUpsertCreatesRedeploysAndIgnoresReplays(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx := context.Background()
	sha1 := f.repo.branch("Feature/Login", "2")
	p, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 7, Branch: "Feature/Login", SHA: sha1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Host != "feature-login.localhost" || p.Env != "pr-7" || p.State != store.PreviewReady || p.HeadSHA != sha1 ||
		p.URL != "http://feature-login.localhost:8080" {
		t.Fatalf("preview = %+v", p)
	}
	if want := f.clock.now().Add(time.Hour); !p.ExpiresAt.Equal(want) {
		t.Errorf("expires %s, want the TTL from the push, %s", p.ExpiresAt, want)
	}
	deploys, _, _ := f.envs.snapshot()
	if len(deploys) != 1 {
		t.Fatalf("%d deploys", len(deploys))
	}
	d := deploys[0]
	web := d.Services["web"]
	if d.App != "shop" || d.Environment != "pr-7" || d.GitSHA != sha1 || !strings.HasPrefix(d.Artifact, "sha256:") {
		t.Errorf("deploy = %+v", d)
	}
	if len(web.Routes) != 1 || web.Routes[0].Host != "feature-login.localhost" || web.Env["FERRY_PR"] != "7" ||
		web.Env["FERRY_BRANCH"] != "Feature/Login" || web.Env["FERRY_PREVIEW"] != "1" || web.Env["GREETING"] != "hello" {
		t.Errorf("web = %+v", web)
	}

	// The same commit again (a replay under another delivery id) changes nothing.
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 7, Branch: "Feature/Login", SHA: sha1}); err != nil {
		t.Fatal(err)
	}
	if deploys, _, _ := f.envs.snapshot(); len(deploys) != 1 {
		t.Fatalf("a replay deployed again: %d deploys", len(deploys))
	}

	// A new commit redeploys, on the same host, with a new expiry.
	f.clock.add(30 * time.Minute)
	sha2 := f.repo.branch("Feature/Login", "3")
	p2, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 7, Branch: "Feature/Login", SHA: sha2})
	if err != nil {
		t.Fatal(err)
	}
	deploys, _, _ = f.envs.snapshot()
	if len(deploys) != 2 || deploys[1].GitSHA != sha2 || deploys[1].Artifact == deploys[0].Artifact {
		t.Fatalf("redeploy: %+v", deploys)
	}
	if p2.ID != p.ID || p2.Host != p.Host || !p2.ExpiresAt.After(p.ExpiresAt) {
		t.Errorf("redeployed preview %+v, was %+v", p2, p)
	}
}

func TestBranchesThatSlugAlikeGetDistinctHosts(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx := context.Background()
	long := "Feature/ÜBER_long-" + strings.Repeat("x", 82)
	var hosts []string
	for i, b := range []string{"feature/a", "feature-a", "Feature_A", long, long + "-2"} {
		sha := f.repo.branch(b, "v"+b)
		p, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: i + 1, Branch: b, SHA: sha})
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !config.IsDNSLabel(p.Slug) || p.Host != p.Slug+".localhost" {
			t.Errorf("%s: slug %q host %q", b, p.Slug, p.Host)
		}
		for _, h := range hosts {
			if h == p.Host {
				t.Errorf("%s: host %s taken twice", b, h)
			}
		}
		hosts = append(hosts, p.Host)
	}
	if hosts[0] != "feature-a.localhost" {
		t.Errorf("the first branch keeps the plain slug, got %s", hosts[0])
	}
}

// A second routed service's host (<service>-<slug>) is a host too: branch
// "api-x" must not get the host branch "x"'s api service has, whichever
// preview came first.
func TestSecondServiceHostsNeverCollideWithAnotherBranch(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx := context.Background()
	two := strings.ReplaceAll(definition, "{{extra}}", "  ttl: 1h")
	two = strings.Replace(two, "services:\n", "services:\n  api:\n    command: [./web]\n    port: http\n    routes: [{host: api.example.com}]\n", 1)
	f.repo.write(map[string]string{"ferry.yaml": two})
	f.repo.commit("an api service")
	f.repo.git("push", "--quiet", "origin", "main")
	claimed := map[string]string{} // host → branch
	pr := 0
	for _, pair := range [][2]string{{"x", "api-x"}, {"api-y", "y"}} {
		for _, b := range pair {
			pr++
			sha := f.repo.branch(b, "v"+b)
			p, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: pr, Branch: b, SHA: sha})
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			hosts := f.m.loadState(ctx, p.ID).Hosts
			if len(hosts) != 2 || !slices.Contains(hosts, p.Host) {
				t.Fatalf("%s: hosts %v, want its main host %s and its api host", b, hosts, p.Host)
			}
			for _, h := range hosts {
				if other, ok := claimed[h]; ok {
					t.Fatalf("%s claims %s, already branch %s's", b, h, other)
				}
				claimed[h] = b
			}
		}
	}
	if claimed["x.localhost"] != "x" || claimed["api-x.localhost"] != "x" || claimed["api-y.localhost"] != "api-y" {
		t.Fatalf("the first branch of each pair keeps its plain hosts: %v", claimed)
	}
}

func TestCapRefusesAPreviewTooMany(t *testing.T) {
	f := newFixture(t, "  max: 1", nil)
	ctx := context.Background()
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 1, Branch: "a", SHA: f.repo.branch("a", "a")}); err != nil {
		t.Fatal(err)
	}
	_, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 2, Branch: "b", SHA: f.repo.branch("b", "b")})
	if !IsPermanent(err) || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("second preview: %v, want a permanent cap error", err)
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 2}); ok {
		t.Error("a refused preview left a row")
	}
}

func TestBadDefinitionFailsWithoutAPreview(t *testing.T) {
	f := newFixture(t, "", nil)
	f.repo.git("checkout", "--quiet", "-b", "broken")
	f.repo.write(map[string]string{"ferry.yaml": "app: shop\nservices: {web: {port: http}}\n"})
	sha := f.repo.commit("break it")
	f.repo.git("push", "--quiet", "origin", "broken")
	_, err := f.m.Upsert(context.Background(), Change{Repo: "acme/shop", PR: 3, Branch: "broken", SHA: sha})
	if !IsPermanent(err) || !strings.Contains(err.Error(), "ferry.yaml") {
		t.Fatalf("Upsert = %v, want a permanent error naming ferry.yaml", err)
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 3}); ok {
		t.Error("a bad definition created a preview")
	}
}

func TestDestroyIsIdempotentAndRetriedBySweep(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx := context.Background()
	k := store.PreviewKey{Repo: "acme/shop", PR: 4}
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 4, Branch: "x", SHA: f.repo.branch("x", "x")}); err != nil {
		t.Fatal(err)
	}
	f.envs.failNext = errRouterDown
	if err := f.m.Destroy(ctx, k, "test"); err == nil {
		t.Fatal("a failed destroy must say so")
	}
	p, ok := f.preview(t, k)
	if !ok || p.State != store.PreviewDestroying {
		t.Fatalf("after a failed destroy: %+v (found %v), want it destroying", p, ok)
	}
	if n, err := f.m.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the destroy finished", n, err)
	}
	if _, ok := f.preview(t, k); ok {
		t.Error("the preview survived its destroy")
	}
	if _, err := f.st.GetMeta(ctx, stateKey(p.ID)); err == nil {
		t.Error("the preview's state survived its destroy")
	}
	if err := f.m.Destroy(ctx, k, "again"); err != nil {
		t.Errorf("destroying a destroyed preview: %v", err)
	}
	if _, destroyed, live := f.envs.snapshot(); len(destroyed) != 1 || destroyed[0] != "shop/pr-4" || len(live) != 0 {
		t.Errorf("destroyed %v, live %v", destroyed, live)
	}
}

func TestSweepDestroysExpiredPreviews(t *testing.T) {
	f := newFixture(t, "  ttl: 1h", nil)
	ctx := context.Background()
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 1, Branch: "old", SHA: f.repo.branch("old", "o")}); err != nil {
		t.Fatal(err)
	}
	f.clock.add(50 * time.Minute)
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 2, Branch: "new", SHA: f.repo.branch("new", "n")}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.m.Sweep(ctx); n != 0 {
		t.Fatalf("nothing expired yet, swept %d", n)
	}
	f.clock.add(15 * time.Minute) // old: 65m since its push; new: 15m
	if n, err := f.m.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 1}); ok {
		t.Error("the expired preview is still there")
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 2}); !ok {
		t.Error("the fresh preview went too")
	}
}

func TestReportingAndReconcilingWithGitHub(t *testing.T) {
	gh := githubtest.New(t, "tok")
	rep, err := github.NewClient(gh.URL, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "", rep)
	ctx := context.Background()
	sha := f.repo.branch("fix", "f")
	p, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 5, Branch: "fix", SHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	ds := gh.Deployments()
	if len(ds) != 1 || ds[0].Ref != sha || ds[0].Environment != "pr-5" || !ds[0].Transient {
		t.Fatalf("deployments = %+v", ds)
	}
	if got := ds[0].Statuses; len(got) != 2 || got[0].State != "in_progress" || got[1].State != "success" ||
		got[1].EnvironmentURL != p.URL {
		t.Fatalf("statuses = %+v", got)
	}
	sha2 := f.repo.branch("fix", "g")
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 5, Branch: "fix", SHA: sha2}); err != nil {
		t.Fatal(err)
	}
	cs := gh.Comments("acme/shop", 5)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, p.URL) || !strings.Contains(cs[0].Body, sha2[:12]) {
		t.Fatalf("comments = %+v, want one, up to date", cs)
	}

	// PR 5 closes without its event reaching ferry: the sweeper notices.
	gh.SetOpen("acme/shop", 6)
	if n, err := f.m.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if _, ok := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 5}); ok {
		t.Fatal("the preview of a closed PR survived the sweep")
	}
	ds = gh.Deployments()
	if last := ds[1].Statuses[len(ds[1].Statuses)-1]; last.State != "inactive" {
		t.Errorf("last status %+v, want inactive", last)
	}

	// A failing build reports failure with the log URL.
	f.repo.git("checkout", "--quiet", "-b", "bad")
	f.repo.write(map[string]string{"version": "b"})
	f.repo.git("rm", "--quiet", "web")
	bad := f.repo.commit("no web")
	f.repo.git("push", "--quiet", "origin", "bad")
	f.repo.git("checkout", "--quiet", "main")
	gh.SetOpen("acme/shop", 6)
	if _, err := f.m.Upsert(ctx, Change{Repo: "acme/shop", PR: 6, Branch: "bad", SHA: bad}); !IsPermanent(err) {
		t.Fatalf("a failing build: %v", err)
	}
	ds = gh.Deployments()
	last := ds[len(ds)-1].Statuses
	if len(last) != 2 || last[1].State != "failure" || !strings.HasPrefix(last[1].LogURL, "http://ferry.test/previews/") {
		t.Errorf("statuses of the failed preview = %+v", last)
	}
	if p, _ := f.preview(t, store.PreviewKey{Repo: "acme/shop", PR: 6}); p.State != store.PreviewFailed {
		t.Errorf("state = %s, want failed", p.State)
	}
}

// A server killed while creating a preview leaves its row creating and
// nothing else; the next server's manager resumes it at the same commit
// and settles it, and one whose commit cannot be fetched any more ends
// failed, not creating.
func TestInterruptedCreatesAreResumedAtStart(t *testing.T) {
	f := newFixture(t, "", nil)
	ctx := context.Background()
	cut := func(branch string, pr int, recorded string) (Change, store.Preview) {
		sha := f.repo.branch(branch, "v"+branch)
		c := Change{Repo: "acme/shop", PR: pr, Branch: branch, SHA: sha}
		dir, _, err := f.m.src.fetch(ctx, f.repo.bare, branch, sha)
		if err != nil {
			t.Fatal(err)
		}
		def, err := f.m.definition(ctx, dir, sha)
		if err != nil {
			t.Fatal(err)
		}
		if recorded != "" {
			c.SHA = recorded
		}
		p, _, err := f.m.record(ctx, c, def, c.SHA) // what the killed server got to
		if err != nil || p.State != store.PreviewCreating {
			t.Fatalf("recording %s: %+v %v", branch, p, err)
		}
		return c, p
	}
	kept, _ := cut("kept", 11, "")
	gone, _ := cut("gone", 12, strings.Repeat("d", 40)) // a commit nowhere

	f.run(t) // the restarted server
	deadline := time.Now().Add(20 * time.Second)
	for {
		k, _ := f.preview(t, kept.key())
		g, _ := f.preview(t, gone.key())
		if k.State == store.PreviewReady && g.State == store.PreviewFailed {
			if k.HeadSHA != kept.SHA {
				t.Fatalf("resumed at %s, want the commit it was created for, %s", k.HeadSHA, kept.SHA)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: kept is %s (want ready), gone is %s (want failed)", k.State, g.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deploys, _, _ := f.envs.snapshot()
	if len(deploys) != 1 || deploys[0].GitSHA != kept.SHA {
		t.Fatalf("deploys %+v, want the kept branch's once", deploys)
	}
}
