package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"equal", "x\ny\n", "x\ny\n", ""},
		{"change in the middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n",
			"--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n"},
		{"from nothing", "", "new\nlines\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+new\n+lines\n"},
		{"to nothing", "old\n", "", "--- a\n+++ b\n@@ -1,1 +0,0 @@\n-old\n"},
		{"two hunks", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "A\nb\nc\nd\ne\nf\ng\nh\ni\nJ\n",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -7,4 +7,4 @@\n g\n h\n i\n-j\n+J\n"},
		{"no final newline", "x", "y", "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-x\n+y\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unifiedDiff("a", "b", tc.a, tc.b); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestUnifiedDiffPatches checks the output against patch(1): applying it to
// a must give b.
func TestUnifiedDiffPatches(t *testing.T) {
	a := "{\n  \"Name\": \"web\",\n  \"Command\": [\n    \"./hello\"\n  ],\n  \"Env\": {\n    \"HELLO_VERSION\": \"v1\",\n    \"DB\": \"***\"\n  },\n  \"Port\": \"http\",\n  \"Count\": 0\n}\ncount: 2\n"
	b := strings.Replace(strings.Replace(a, "v1", "v2", 1), "count: 2", "count: 3", 1)
	dir := t.TempDir()
	f := filepath.Join(dir, "spec")
	if err := os.WriteFile(f, []byte(a), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("patch", "-s", f)
	cmd.Stdin = strings.NewReader(unifiedDiff("spec", "spec", a, b))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v: %s", err, out)
	}
	got, _ := os.ReadFile(f)
	if string(got) != b {
		t.Errorf("patched:\n%s\nwant:\n%s", got, b)
	}
}
