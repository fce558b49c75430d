package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/ferrycd/ferry/internal/runtime"
)

func TestCreateOptions(t *testing.T) {
	base := runtime.TaskSpec{ID: "web-r2-a", App: "shop", Environment: "prod", Service: "web", Revision: 2,
		Image: "sha256:abc", Port: 41000, Env: map[string]string{"A": "1"}}
	tests := []struct {
		name  string
		edit  func(*runtime.TaskSpec)
		check func(t *testing.T, o *container.Config, h *container.HostConfig)
		err   string
	}{
		{name: "defaults", check: func(t *testing.T, c *container.Config, h *container.HostConfig) {
			if c.StopSignal != "SIGTERM" || *c.StopTimeout != 10 || c.Cmd != nil || c.Image != "sha256:abc" {
				t.Errorf("signal %q timeout %d cmd %v image %q", c.StopSignal, *c.StopTimeout, c.Cmd, c.Image)
			}
			if h.RestartPolicy.Name != container.RestartPolicyDisabled || h.NetworkMode != "ferry" || h.AutoRemove {
				t.Errorf("restart %q network %q autoremove %v", h.RestartPolicy.Name, h.NetworkMode, h.AutoRemove)
			}
			b := h.PortBindings
			if len(b) != 1 || len(c.ExposedPorts) != 1 {
				t.Fatalf("bindings %v exposed %v", b, c.ExposedPorts)
			}
			for p, bs := range b {
				if p.String() != "41000/tcp" || len(bs) != 1 || bs[0].HostIP.String() != "127.0.0.1" || bs[0].HostPort != "41000" {
					t.Errorf("binding %s → %+v", p, bs)
				}
			}
			if strings.Join(c.Env, " ") != "A=1 FERRY_APP=shop FERRY_ENVIRONMENT=prod FERRY_REVISION=2 FERRY_SERVICE=web FERRY_TASK_ID=web-r2-a PORT=41000" {
				t.Errorf("env %v", c.Env)
			}
			if c.Labels[LabelPort] != "41000" || c.Labels[LabelInstance] != "inst" || c.Labels[LabelRevision] != "2" {
				t.Errorf("labels %v", c.Labels)
			}
		}},
		{name: "no port publishes nothing", edit: func(s *runtime.TaskSpec) { s.Port = 0 },
			check: func(t *testing.T, c *container.Config, h *container.HostConfig) {
				if len(h.PortBindings) != 0 || len(c.ExposedPorts) != 0 || c.Labels[LabelPort] != "" {
					t.Errorf("bindings %v exposed %v labels %v", h.PortBindings, c.ExposedPorts, c.Labels)
				}
				for _, kv := range c.Env {
					if strings.HasPrefix(kv, "PORT=") {
						t.Errorf("env has %s", kv)
					}
				}
			}},
		{name: "limits, command, signal, sub-second timeout", edit: func(s *runtime.TaskSpec) {
			s.Limits = runtime.Limits{MemoryBytes: 1 << 30, CPU: 1.5, NoFile: 100, Procs: 50}
			s.Command, s.StopSignal, s.StopTimeout = []string{"/app", "serve"}, "quit", 300*time.Millisecond
		}, check: func(t *testing.T, c *container.Config, h *container.HostConfig) {
			if h.Memory != 1<<30 || h.NanoCPUs != 1.5e9 || len(h.Ulimits) != 2 || h.Ulimits[1].Name != "nproc" || h.Ulimits[1].Soft != 50 {
				t.Errorf("memory %d cpus %d ulimits %v", h.Memory, h.NanoCPUs, h.Ulimits)
			}
			if strings.Join(c.Cmd, " ") != "/app serve" || c.StopSignal != "SIGQUIT" || *c.StopTimeout != 1 {
				t.Errorf("cmd %v signal %q timeout %d", c.Cmd, c.StopSignal, *c.StopTimeout)
			}
		}},
		{name: "no image", edit: func(s *runtime.TaskSpec) { s.Image = "" }, err: "task web-r2-a: no image to run (services.web.image)"},
		{name: "bad id", edit: func(s *runtime.TaskSpec) { s.ID = "-x" }, err: `task id "-x": character '-' not allowed`},
		{name: "bad port", edit: func(s *runtime.TaskSpec) { s.Port = 70000 }, err: "port 70000 out of range"},
		{name: "bad signal", edit: func(s *runtime.TaskSpec) { s.StopSignal = "HUPP" }, err: `services.web.stop_signal: "HUPP": not a signal name`},
		{name: "negative limit", edit: func(s *runtime.TaskSpec) { s.Limits.CPU = -1 }, err: "services.web.limits: negative limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := base
			if tt.edit != nil {
				tt.edit(&spec)
			}
			o, err := createOptions("inst", spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o = onNetwork(o, "ferry")
			if o.Name != "ferry-inst-"+spec.ID || o.Config.Healthcheck.Test[0] != "NONE" || o.NetworkingConfig.EndpointsConfig["ferry"] == nil {
				t.Errorf("name %q healthcheck %v networking %v", o.Name, o.Config.Healthcheck, o.NetworkingConfig)
			}
			tt.check(t, o.Config, o.HostConfig)
		})
	}
}

func TestTaskEnvFerryVariablesWin(t *testing.T) {
	env := taskEnv(runtime.TaskSpec{ID: "t", App: "a", Service: "s", Environment: "e", Revision: 4, Port: 5,
		Env: map[string]string{"PORT": "1", "FERRY_APP": "forged", "X": "y"}})
	if got := strings.Join(env, " "); got != "FERRY_APP=a FERRY_ENVIRONMENT=e FERRY_REVISION=4 FERRY_SERVICE=s FERRY_TASK_ID=t PORT=5 X=y" {
		t.Fatalf("env = %s", got)
	}
}

func TestSignalName(t *testing.T) {
	for in, want := range map[string]string{"": "SIGTERM", "term": "SIGTERM", "SIGINT": "SIGINT", "Quit": "SIGQUIT", "KILL": "SIGKILL", "SIGNOPE": "", "9": ""} {
		got, err := signalName(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("signalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	labels := map[string]string{LabelTaskID: "web-1", LabelPort: "4000"}
	tests := []struct {
		name  string
		state *container.State
		want  runtime.Status
	}{
		{"running", &container.State{Status: container.StateRunning, Running: true, StartedAt: "2026-01-02T03:04:05.5Z", FinishedAt: "0001-01-01T00:00:00Z"},
			runtime.Status{ID: "web-1", Handle: "h", Running: true, ExitCode: -1, Addr: "127.0.0.1:4000",
				StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)}},
		{"exited", &container.State{Status: container.StateExited, ExitCode: 137, StartedAt: "2026-01-02T03:04:05Z", FinishedAt: "2026-01-02T03:04:06Z"},
			runtime.Status{ID: "web-1", Handle: "h", ExitCode: 137, Addr: "127.0.0.1:4000",
				StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ExitedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}},
		{"created, never started", &container.State{Status: container.StateCreated, StartedAt: "0001-01-01T00:00:00Z"},
			runtime.Status{ID: "web-1", Handle: "h", ExitCode: -1, Addr: "127.0.0.1:4000"}},
	}
	for _, tt := range tests {
		got := statusOf(container.InspectResponse{ID: "h", State: tt.state, Config: &container.Config{Labels: labels}})
		if !got.StartedAt.Equal(tt.want.StartedAt) || !got.ExitedAt.Equal(tt.want.ExitedAt) {
			t.Errorf("%s: times %v %v", tt.name, got.StartedAt, got.ExitedAt)
		}
		got.StartedAt, got.ExitedAt, tt.want.StartedAt, tt.want.ExitedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestInstanceForIsStableAndANameTheEngineAccepts(t *testing.T) {
	a, b := InstanceFor("/var/lib/ferry"), InstanceFor("/var/lib/ferry")
	if a != b || a == InstanceFor("/other") || checkName("instance", a) != nil || len(a) != 12 {
		t.Fatalf("InstanceFor = %q, %q", a, b)
	}
}

func TestLastLines(t *testing.T) {
	data := []byte("a\nb\nc\n")
	for n, want := range map[int]string{0: "a\nb\nc\n", 1: "c\n", 2: "b\nc\n", 3: "a\nb\nc\n", 9: "a\nb\nc\n"} {
		if got := string(lastLines(data, n)); got != want {
			t.Errorf("lastLines(%d) = %q, want %q", n, got, want)
		}
	}
	if got := string(lastLines([]byte("a\nb"), 1)); got != "b" {
		t.Errorf("without a final newline: %q", got)
	}
}
