// Package soak runs ferry for a long time under load with a deployment
// every interval, sampling the server's and the router's RSS, threads and
// open descriptors, and fails when one of them grows without bound (a line
// fitted after warm-up keeps rising). `go test ./test/soak -soak
// -soak.duration=1h` is the real soak (a deploy every 30s, a sample a
// minute); without -soak it is a 20s mini-soak (a deploy every 5s, a
// sample every second, printed every 5s) that exercises the same path.
// It touches only the temporary ferry home it makes.
package soak

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/rig"
)

var (
	soakFlag     = flag.Bool("soak", false, "the real soak: -soak.duration long, a deploy every 30s")
	durationFlag = flag.Duration("soak.duration", time.Hour, "how long the real soak runs")
)

var ferryBin string

func TestMain(m *testing.M) {
	flag.Parse()
	bin, err := rig.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = bin
	code := m.Run()
	os.RemoveAll(filepath.Dir(bin))
	os.Exit(code)
}

// plan is a soak's pace.
type plan struct {
	duration, deployEvery, sampleEvery, printEvery time.Duration
}

func thePlan() plan {
	if *soakFlag {
		return plan{*durationFlag, 30 * time.Second, 10 * time.Second, time.Minute}
	}
	return plan{20 * time.Second, 5 * time.Second, time.Second, 5 * time.Second}
}

// series is one measured figure of one daemon over time.
type series struct {
	name     string
	values   []float64
	abs, rel float64 // tolerated growth after warm-up
}

func TestSoak(t *testing.T) {
	p := thePlan()
	c, err := rig.NewCluster(ferryBin, rig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := c.App.Write(rig.Spec{Count: 2, Env: map[string]string{"HELLO_VERSION": "v1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Up(); err != nil {
		t.Fatal(err)
	}
	load := rig.StartLoad(c.Addr, rig.LoadOptions{Workers: 2, MaxTime: p.duration + time.Minute})
	defer load.Stop()

	daemons := []string{"server", "router"}
	all := map[string]*series{}
	var order []*series
	for _, d := range daemons {
		for _, s := range []*series{
			{name: d + " rss", abs: 16 << 20, rel: 0.25},
			{name: d + " threads", abs: 4, rel: 0.25},
			{name: d + " fds", abs: 8, rel: 0.25},
		} {
			all[s.name] = s
			order = append(order, s)
		}
	}
	sample := func() string {
		var line []string
		for _, d := range daemons {
			pid, err := c.PID(d)
			if err != nil {
				t.Fatal(err)
			}
			u, err := rig.Measure(pid)
			if err != nil {
				t.Fatalf("measuring the %s (pid %d): %v", d, pid, err)
			}
			all[d+" rss"].values = append(all[d+" rss"].values, float64(u.RSS))
			all[d+" threads"].values = append(all[d+" threads"].values, float64(u.Threads))
			all[d+" fds"].values = append(all[d+" fds"].values, float64(u.FDs))
			line = append(line, fmt.Sprintf("%s rss %.1fMiB threads %d fds %d", d, float64(u.RSS)/(1<<20), u.Threads, u.FDs))
		}
		return strings.Join(line, "; ")
	}

	start := time.Now()
	deploys, failedDeploys := 0, 0
	deployTick := time.NewTicker(p.deployEvery)
	defer deployTick.Stop()
	sampleTick := time.NewTicker(p.sampleEvery)
	defer sampleTick.Stop()
	lastPrint := time.Time{}
	for time.Since(start) < p.duration {
		select {
		case <-deployTick.C:
			deploys++
			v := fmt.Sprintf("v%d", deploys+1)
			if err := c.App.Write(rig.Spec{Count: 2, Env: map[string]string{"HELLO_VERSION": v}}); err != nil {
				t.Fatal(err)
			}
			r, err := c.Ferry(2*time.Minute, "deploy")
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != 0 {
				failedDeploys++
				t.Errorf("deploy %s: %s", v, r)
			}
		case <-sampleTick.C:
			line := sample()
			if time.Since(lastPrint) >= p.printEvery {
				t.Logf("+%s %s", time.Since(start).Round(time.Second), line)
				lastPrint = time.Now()
			}
		}
	}
	rep := load.Stop()
	t.Logf("soak %s: %d deploys (%d failed), %d requests, %d failed, answers per version %v",
		p.duration, deploys, failedDeploys, rep.Sent, len(rep.Failures), rep.Versions)
	for i, f := range rep.Failures {
		if i == 20 {
			t.Errorf("… %d more failed requests", len(rep.Failures)-20)
			break
		}
		t.Errorf("failed request: %s", f)
	}
	// Warm-up: the first fifth of the samples (caches, pools, the first
	// deployments' allocations).
	for _, s := range order {
		warm := len(s.values) / 5
		if bad, g := unbounded(s.values, warm, s.abs, s.rel); bad {
			t.Errorf("%s grows without bound: +%.0f over the run after warm-up (samples %v)", s.name, g, s.values)
		} else {
			t.Logf("%s: growth after warm-up %+.0f (bounded)", s.name, g)
		}
	}
}
