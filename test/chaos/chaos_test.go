package chaos

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

// summary is what a run did and saw.
type summary struct {
	rounds      int
	deployments map[string]int // final state → count (the app's own environment)
	previewDeps map[string]int // final state → count (preview environments)
	previews    *previews
	faults      map[string]int // fault → times injected
	requests    int64
	failures    map[cause]int
}

func (s summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rounds %d, deployments %d %v, requests %d\n", s.rounds, total(s.deployments), s.deployments, s.requests)
	fmt.Fprintf(&b, "preview deployments %d %v; %s\n", total(s.previewDeps), s.previewDeps, s.previews)
	fmt.Fprintf(&b, "faults: %s\n", counts(s.faults))
	fails := map[string]int{}
	for c, n := range s.failures {
		fails[string(c)] = n
	}
	fmt.Fprintf(&b, "failed requests by cause: %s", counts(fails))
	return b.String()
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// TestChaos is the suite: rounds of a deployment of a random revision kind
// under a random strategy, in about half of them with a preview opened or
// closed meanwhile, with one or two random faults at random moments while
// they run, all under constant load; after each round the store must show
// every deployment terminal and every preview settled (a destroyed one
// gone with its tasks), /proc must show exactly the tasks the store lists,
// and every failed request must have a cause other than ferry.
func TestChaos(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("chaos seed %d (replay with -chaos.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))

	c, err := rig.NewCluster(ferryBin, rig.Options{Disk: 512 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	const count = 3
	if err := c.App.Write(rig.Spec{Count: count, Env: map[string]string{"HELLO_VERSION": "v1"}, Preview: previewSpec}); err != nil {
		t.Fatal(err)
	}
	if err := c.Up(); err != nil {
		t.Fatal(err)
	}
	load := rig.StartLoad(c.Addr, rig.LoadOptions{MaxTime: 2 * time.Hour})
	defer load.Stop()
	e := &env{c: c, rng: rng, load: load}

	pv := &previews{c: c, final: map[string]int{}}
	s := summary{deployments: map[string]int{}, previewDeps: map[string]int{}, previews: pv, faults: map[string]int{}, failures: map[cause]int{}}
	broken := map[string]bool{}
	var windows []window
	crashFrom := time.Time{} // since when a crashing revision may serve: its tasks die while serving
	crashingLive := false    // the live revision is a crashing one
	lastID := int64(1)
	var roundStarts []time.Time
	for round := 1; round <= rounds(); round++ {
		st := strategies[rng.IntN(len(strategies))]
		k := kinds[rng.IntN(len(kinds))]
		version := fmt.Sprintf("v%d", round+1)
		var picked []fault
		for range 1 + rng.IntN(2) {
			picked = append(picked, faults[rng.IntN(len(faults))])
		}
		envs := map[string]string{"HELLO_VERSION": version}
		for key, v := range k.env {
			envs[key] = v
		}
		if k.broken {
			broken[version] = true
		}
		withPreview := rng.IntN(2) == 0
		if err := c.App.Write(rig.Spec{Count: count, Deploy: st.deploy, Env: envs, Preview: previewSpec}); err != nil {
			t.Fatal(err)
		}
		started := time.Now()
		roundStarts = append(roundStarts, started)
		if k.crashes && crashFrom.IsZero() {
			crashFrom = started
		}
		names := make([]string, len(picked))
		for i, f := range picked {
			names[i] = f.name
		}
		var pa *previewRun
		if withPreview {
			// Committed before the deploy starts, though the commit does
			// not touch what the deploy builds.
			if pa, err = pv.start(round); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		also := ""
		if pa != nil {
			also = ", " + pa.String()
		}
		t.Logf("round %d: %s %s (%s)%s with %s", round, st.name, version, k.name, also, strings.Join(names, ", "))

		type deployed struct {
			r   rig.Result
			err error
		}
		done := make(chan deployed, 1)
		go func() {
			r, err := c.Ferry(3*time.Minute, "deploy")
			done <- deployed{r, err}
		}()
		serverKilled := false
		e.crashing = !crashFrom.IsZero()
		for _, f := range picked {
			time.Sleep(e.pause(0, 3*time.Second)) // a random moment of the deployment
			ws, err := f.inject(e)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, f.name, err)
			}
			windows = append(windows, ws...)
			s.faults[f.name]++
			serverKilled = serverKilled || f.name == "kill -9 server"
		}
		d := <-done
		if d.err != nil {
			t.Fatalf("round %d: %v", round, d.err)
		}

		deps, err := settled(c, 2*time.Minute)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if pa != nil {
			if err := pv.finish(pa, serverKilled, func(f string, a ...any) { t.Logf("round %d: "+f, append([]any{round}, a...)...) }); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			// The preview's own deployments settle too.
			if deps, err = settled(c, 2*time.Minute); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		var mine []rig.Deployment
		for _, dep := range deps {
			if dep.ID <= lastID {
				continue
			}
			lastID = dep.ID
			if dep.Preview {
				s.previewDeps[string(dep.State)]++
				continue
			}
			mine = append(mine, dep)
			s.deployments[string(dep.State)]++
		}
		t.Logf("round %d: deploy exit %d; deployments %v", round, d.r.Code, mine)
		// Invariant 2: exit 0 only when the new revision is fully live.
		// A killed server may cut the client off, so only an exit 0 is
		// checked then.
		if d.r.Code == 0 && (len(mine) == 0 || mine[len(mine)-1].State != "succeeded") {
			t.Errorf("round %d: ferry deploy exited 0 but the store has %v\n%s", round, mine, d.r)
		}
		if !serverKilled && d.r.Code != 0 && len(mine) > 0 && mine[len(mine)-1].State == "succeeded" {
			t.Errorf("round %d: the deployment succeeded but ferry deploy exited %d\n%s", round, d.r.Code, d.r)
		}
		if err := processesMatch(c, time.Minute); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(mine) > 0 && mine[len(mine)-1].State == "succeeded" {
			crashingLive = k.crashes
		}
		if !crashFrom.IsZero() && !crashingLive {
			// No crashing revision serves any more: replaced or rolled back.
			windows = append(windows, window{causeCrash, crashFrom, time.Now()})
			crashFrom = time.Time{}
		}
		s.rounds++
	}
	if err := pv.closeOpen(); err != nil {
		t.Fatal(err)
	}
	if err := processesMatch(c, time.Minute); err != nil {
		t.Fatalf("after the last preview's destroy: %v", err)
	}
	// Stop the load before closing a crashing revision's window, or a
	// request failing between the two falls outside every window.
	rep := load.Stop()
	if !crashFrom.IsZero() {
		windows = append(windows, window{causeCrash, crashFrom, time.Now()})
	}
	s.requests = rep.Sent
	var unexpected []string
	for _, f := range rep.Failures {
		why := classify(f, broken, windows)
		s.failures[why]++
		if why == causeUnexpected {
			unexpected = append(unexpected, fmt.Sprintf("round %d: %s", roundOf(roundStarts, f.At), f))
		}
	}
	t.Logf("summary (seed %d):\n%s\nanswers per version: %v", seed, s, rep.Versions)
	if rep.Sent < 1000 {
		t.Errorf("only %d requests sent: too few for the run to mean anything", rep.Sent)
	}
	if len(unexpected) > 0 {
		t.Errorf("%d requests failed with no cause but ferry (seed %d):\n%s", len(unexpected), seed, strings.Join(elide(unexpected, 40), "\n"))
	}
}

// roundOf is the round (from 1) that was running at t.
func roundOf(starts []time.Time, t time.Time) int {
	return sort.Search(len(starts), func(i int) bool { return starts[i].After(t) })
}

// elide keeps the first and last of many lines.
func elide(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	out := append([]string(nil), lines[:n/2]...)
	out = append(out, fmt.Sprintf("… %d more …", len(lines)-n))
	return append(out, lines[len(lines)-n/2:]...)
}
