package process

import (
	"strings"
	"testing"
)

func TestHandleRoundTrip(t *testing.T) {
	h := Handle{ID: "web-r3-7f2c1a", PID: 4242, Start: 987654321}
	if s := h.String(); s != "web-r3-7f2c1a:4242:987654321" {
		t.Fatalf("String = %q", s)
	}
	got, err := ParseHandle(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHandle = %+v, %v", got, err)
	}
}

func TestParseHandleErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "want <task-id>:<pid>:<start-time>"},
		{"web:1", "want <task-id>:<pid>:<start-time>"},
		{"web:1:2:3", "want <task-id>:<pid>:<start-time>"},
		{":1:2", "empty task id"},
		{"../x:1:2", `character '/' not allowed`},
		{"..:1:2", `task id "..": not a valid name`},
		{"web:0:2", `pid "0" is not a positive number`},
		{"web:-3:2", `pid "-3" is not a positive number`},
		{"web:x:2", `pid "x"`},
		{"web:1:soon", `start time "soon" is not a number`},
	}
	for _, tt := range tests {
		_, err := ParseHandle(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseHandle(%q) err = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	tail := " 1 1 0 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100"
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr string
	}{
		{"plain", "42 (hello) S" + tail, procStat{State: 'S', Start: 123456}, ""},
		{"name with spaces and parens", "42 (a b) (c)) Z" + tail, procStat{State: 'Z', Start: 123456}, ""},
		{"no name", "42 hello S" + tail, procStat{}, "no command name"},
		{"truncated", "42 (hello) S 1 1", procStat{}, "fields after the command name"},
		{"bad start", "42 (hello) S 1 1 0 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1000", procStat{}, `start time "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
