package preview

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/config"
)

// FuzzHostChoice opens two previews of one app in turn, as upsert does:
// each gets a free DNS label, the same one on asking again, and the two
// previews of branches get distinct labels and distinct environments.
func FuzzHostChoice(f *testing.F) {
	long := strings.Repeat("a", 61)
	f.Add("feature/login", "feature-login", uint16(0), uint16(0))
	f.Add("Feature/ÜBER_long-"+strings.Repeat("y", 82), "Feature/ÜBER_long-"+strings.Repeat("y", 81)+"z", uint16(0), uint16(7))
	f.Add("日本語", "ß", uint16(1), uint16(2))
	// A 60-byte branch spelling a 61-byte one's cut environment name.
	f.Add(config.SuffixedLabel("br-"+long, long)[3:], long, uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, b1, b2 string, pr1, pr2 uint16) {
		id1, id2 := "acme/shop#1", "acme/shop#2"
		taken := map[string]bool{}
		s1, err := chooseSlug(b1, id1, func(s string) bool { return taken[s] })
		if err != nil {
			t.Fatalf("first preview of %q: %v", b1, err)
		}
		taken[s1] = true
		s2, err := chooseSlug(b2, id2, func(s string) bool { return taken[s] })
		if err != nil {
			t.Fatalf("second preview of %q: %v", b2, err)
		}
		if again, _ := chooseSlug(b2, id2, func(s string) bool { return taken[s] }); again != s2 {
			t.Fatalf("chooseSlug(%q) is %q then %q", b2, s2, again)
		}
		if s1 == s2 || !config.IsDNSLabel(s1) || !config.IsDNSLabel(s2) {
			t.Fatalf("branches %q, %q got labels %q, %q: want two distinct DNS labels", b1, b2, s1, s2)
		}
		if s := config.BranchSlug(b1); s != "" && s1 != s {
			t.Fatalf("free slug %q of %q not used: got %q", s, b1, s1)
		}
		e1, e2 := envName(int(pr1), s1), envName(int(pr2), s2)
		if !config.IsDNSLabel(e1) || !config.IsDNSLabel(e2) {
			t.Fatalf("environments %q, %q: not DNS labels", e1, e2)
		}
		if e1 == e2 && (pr1 != pr2 || pr1 == 0) {
			t.Fatalf("previews %q (pr %d) and %q (pr %d) share environment %q", s1, pr1, s2, pr2, e1)
		}
	})
}
