package build

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCachedBuild is the cost of a build whose every step is cached —
// the common case of a redeploy: checkout, input hashing, layer replay and
// packing, for a repository of 200 small files and three steps.
func BenchmarkCachedBuild(b *testing.B) {
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("src/pkg%d/file%d.txt", i%10, i)] = strings.Repeat("line\n", 50)
	}
	files["deps.txt"] = "dep\n"
	f := newFixture(b, files)
	steps := []Step{
		{Name: "deps", Inputs: []string{"deps.txt"}, Run: "mkdir -p vendor && cp deps.txt vendor/"},
		{Name: "compile", Inputs: []string{"src/**", "vendor"}, Run: "mkdir -p out && cat src/*/*.txt > out/app"},
		{Name: "package", Inputs: []string{"out/**"}, Run: "cp deps.txt out/"},
	}
	o := f.opts("HEAD", steps)
	if _, err := Build(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := Build(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Steps[2].Cached {
			b.Fatal("step not cached")
		}
	}
}
