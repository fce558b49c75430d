package process

import (
	"reflect"
	"testing"

	"github.com/ferrycd/ferry/internal/runtime"
)

func TestPlanCgroup(t *testing.T) {
	all := []string{"cpuset", "cpu", "io", "memory", "pids"}
	limits := runtime.Limits{MemoryBytes: 256 << 20, Procs: 64, CPU: 0.5, NoFile: 1024}
	tests := []struct {
		name        string
		mount       string
		controllers []string
		limits      runtime.Limits
		want        cgroupPlan
	}{
		{"all limits", "/sys/fs/cgroup", all, limits, cgroupPlan{Dir: "/sys/fs/cgroup/ferry/web-1",
			Files: map[string]string{"memory.max": "268435456", "pids.max": "64", "cpu.max": "50000 100000"}}},
		{"only nofile: nothing for a cgroup", "/sys/fs/cgroup", all, runtime.Limits{NoFile: 10},
			cgroupPlan{Skipped: "no memory, pids or cpu limit asked for"}},
		{"no cgroup2", "", nil, limits, cgroupPlan{Skipped: "no cgroup2 file system mounted"}},
		{"hybrid host without controllers", "/sys/fs/cgroup/unified", []string{"hugetlb"}, limits,
			cgroupPlan{Skipped: "cgroup2 at /sys/fs/cgroup/unified lacks the cpu, memory, pids controller(s) (it offers: hugetlb)"}},
		{"memory only needs memory", "/sys/fs/cgroup", []string{"memory"}, runtime.Limits{MemoryBytes: 1 << 20},
			cgroupPlan{Dir: "/sys/fs/cgroup/ferry/web-1", Files: map[string]string{"memory.max": "1048576"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planCgroup(tt.mount, tt.controllers, "web-1", tt.limits); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCgroup2Mount(t *testing.T) {
	hybrid := `25 24 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`
	pure := `30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
40 1 0:27 / /mnt/other rw - cgroup2 cgroup2 rw
`
	tests := []struct{ in, want string }{
		{hybrid, "/sys/fs/cgroup/unified"},
		{pure, "/sys/fs/cgroup"},
		{"27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\nbroken line\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := cgroup2Mount([]byte(tt.in)); got != tt.want {
			t.Errorf("cgroup2Mount(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
