package config

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// notLabel is a run of what BranchSlug turns into one "-".
var notLabel = regexp.MustCompile(`[^a-z0-9]+`)

func hash6(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// FuzzBranchSlug checks BranchSlug against a plain statement of its rule:
// the lower-cased name with runs outside [a-z0-9] as "-", trimmed, and
// when that is over 63 bytes, cut and suffixed with a hash of the whole
// name, so two long names give labels apart unless their hashes clash.
func FuzzBranchSlug(f *testing.F) {
	f.Add("feature/login", "feature-login")
	f.Add("Feature/ÜBER_long-"+strings.Repeat("y", 82), "Feature/ÜBER_long-"+strings.Repeat("y", 81)+"z")
	f.Add(strings.Repeat("é", 40)+"ß/ǅ", "日本語")
	f.Add(strings.Repeat("a", 55)+"-"+strings.Repeat("b", 20), strings.Repeat("a", 64))
	f.Add("--x--", "\xff\xfeKİ")
	f.Fuzz(func(t *testing.T, b1, b2 string) {
		s1, s2 := BranchSlug(b1), BranchSlug(b2)
		for _, c := range []struct{ branch, slug string }{{b1, s1}, {b2, s2}} {
			if c.slug != "" && !IsDNSLabel(c.slug) {
				t.Fatalf("BranchSlug(%q) = %q, not a DNS label", c.branch, c.slug)
			}
			if again := BranchSlug(c.branch); again != c.slug {
				t.Fatalf("BranchSlug(%q) is %q then %q", c.branch, c.slug, again)
			}
			if again := BranchSlug(c.slug); again != c.slug {
				t.Fatalf("BranchSlug of slug %q = %q, want it unchanged", c.slug, again)
			}
			plain := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(c.branch), "-"), "-")
			if len(plain) <= maxLabel {
				if c.slug != plain {
					t.Fatalf("BranchSlug(%q) = %q, want %q", c.branch, c.slug, plain)
				}
				continue
			}
			if c.slug != SuffixedLabel(plain, c.branch) || !strings.HasSuffix(c.slug, "-"+hash6(c.branch)) {
				t.Fatalf("long BranchSlug(%q) = %q, want it cut with the name's hash", c.branch, c.slug)
			}
		}
	})
}

// FuzzSuffixedLabel checks that any label (or "") given a key's suffix is
// a DNS label keeping the label's start, and that two keys give two labels
// unless their 24-bit hashes clash.
func FuzzSuffixedLabel(f *testing.F) {
	f.Add("feature-login", "acme/shop#1", "acme/shop#2")
	f.Add("", "k", "k#1")
	f.Add(strings.Repeat("a", 55)+"-b", "x", "y")
	f.Add("br-"+strings.Repeat("z", 63), strings.Repeat("z", 63), "")
	f.Fuzz(func(t *testing.T, raw, k1, k2 string) {
		label := raw
		if !IsDNSLabel(label) {
			label = BranchSlug(raw)
		}
		out1, out2 := SuffixedLabel(label, k1), SuffixedLabel(label, k2)
		if !IsDNSLabel(out1) || !IsDNSLabel(out2) {
			t.Fatalf("SuffixedLabel(%q, …) = %q, %q: not DNS labels", label, out1, out2)
		}
		if again := SuffixedLabel(label, k1); again != out1 {
			t.Fatalf("SuffixedLabel(%q, %q) is %q then %q", label, k1, out1, again)
		}
		h := hash6(k1)
		if label == "" && out1 != "b"+h {
			t.Fatalf(`SuffixedLabel("", %q) = %q, want "b%s"`, k1, out1, h)
		}
		if label != "" && !(strings.HasSuffix(out1, "-"+h) && strings.HasPrefix(label, strings.TrimSuffix(out1, "-"+h))) {
			t.Fatalf("SuffixedLabel(%q, %q) = %q: not the label's start and -%s", label, k1, out1, h)
		}
		if k1 != k2 && out1 == out2 && h != hash6(k2) {
			t.Fatalf("keys %q and %q give the same label %q", k1, k2, out1)
		}
	})
}
