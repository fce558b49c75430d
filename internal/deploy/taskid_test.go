package deploy

import "testing"

func TestParseTaskID(t *testing.T) {
	for _, tt := range []struct {
		id      string
		service string
		rev     int
		ok      bool
	}{
		{TaskID("hello.production.web", 3, 17), "hello.production.web", 3, true},
		{"shop.pr-12.web-r2-api-r4-9", "shop.pr-12.web-r2-api", 4, true},
		{"a.b.c-r0-0", "a.b.c", 0, true},
		{"a.b.c-r3", "", 0, false},    // no seq
		{"a.b.c-3-4", "", 0, false},   // no revision
		{"-r3-4", "", 0, false},       // no service
		{"a.b.c-rx-4", "", 0, false},  // revision not a number
		{"a.b.c-r3-4x", "", 0, false}, // seq not a number
		{"a.b.c-r3-", "", 0, false},
		{"server.log", "", 0, false},
		{"", "", 0, false},
	} {
		service, rev, ok := ParseTaskID(tt.id)
		if service != tt.service || rev != tt.rev || ok != tt.ok {
			t.Errorf("ParseTaskID(%q) = %q, %d, %v; want %q, %d, %v", tt.id, service, rev, ok, tt.service, tt.rev, tt.ok)
		}
	}
}
