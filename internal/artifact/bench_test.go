package artifact

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrycd/ferry/internal/home"
)

// BenchmarkPut packs and stores a ~10 MB directory: 40 files of 256 KiB,
// half random (incompressible, like binaries) and half text-like.
func BenchmarkPut(b *testing.B) {
	src := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	const files, size = 40, 256 << 10
	for i := range files {
		buf := make([]byte, size)
		for j := range buf {
			if i%2 == 0 {
				buf[j] = byte(rng.Uint32())
			} else {
				buf[j] = "abcdefgh \n"[rng.IntN(10)]
			}
		}
		p := filepath.Join(src, fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	s := Store{Home: newBenchHome(b)}
	b.SetBytes(files * size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Put(context.Background(), src); err != nil {
			b.Fatal(err)
		}
	}
}

func newBenchHome(b *testing.B) home.Dir {
	h, err := home.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return h
}
