package artifact

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrycd/ferry/internal/home"
)

// Store is the artifact store of one ferry home. Methods are safe for
// concurrent use, also from several processes: every file appears by an
// atomic rename, complete or not at all.
type Store struct {
	Home home.Dir
	// Grace is how old an archive must be before Retain may remove it when
	// keep does not name it. A build puts its archive before the deploy
	// that records it in a revision (the CLI builds, then asks the server;
	// a preview builds, then deploys), and a retention pass in between
	// must not take it. 0 means DefaultGrace; a negative value means none.
	Grace time.Duration
}

// DefaultGrace is Grace's default: far longer than the step from a build's
// end to its deploy.
const DefaultGrace = 15 * time.Minute

// Artifact is one stored archive.
type Artifact struct {
	Digest string // "sha256:<hex>" of the archive file
	Size   int64  // bytes of the archive file
	Path   string // where the archive is stored
}

const archiveExt = ".tar.gz"

func (s Store) dirs() (artifacts, releases string, err error) {
	if s.Home.Root() == "" {
		return "", "", errors.New("artifact store: no ferry home set")
	}
	return s.Home.ArtifactsDir(), s.Home.ReleasesDir(), nil
}

// Path returns where the archive of digest is (or would be) stored.
func (s Store) Path(digest string) (string, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	dir, _, err := s.dirs()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, h+archiveExt), nil
}

// Put packs dir (see Pack) and stores the archive under its sha256 digest.
// The same content always yields the same digest and is stored once.
func (s Store) Put(ctx context.Context, dir string) (Artifact, error) {
	adir, _, err := s.dirs()
	if err != nil {
		return Artifact{}, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	} else if !fi.IsDir() {
		return Artifact{}, fmt.Errorf("artifact: %s is not a directory", dir)
	}
	if err := os.MkdirAll(adir, 0o700); err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	tmp, err := os.CreateTemp(adir, ".put-*")
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	err = Pack(ctx, cw, dir, nil)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	a := Artifact{Digest: formatDigest(h.Sum(nil)), Size: cw.n}
	a.Path, _ = s.Path(a.Digest)
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	if err := os.Rename(tmp.Name(), a.Path); err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(adir); err != nil {
		return Artifact{}, fmt.Errorf("artifact: %w", err)
	}
	return a, nil
}

// Verify re-hashes the stored archive of digest. A missing or corrupted
// archive is an error naming the digest and the path.
func (s Store) Verify(digest string) error {
	p, err := s.Path(digest)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact %s: not in the store (%s missing)", digest, p)
	}
	if err != nil {
		return fmt.Errorf("artifact %s: %w", digest, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("artifact %s: reading %s: %w", digest, p, err)
	}
	if got := formatDigest(h.Sum(nil)); got != digest {
		return fmt.Errorf("artifact %s: corrupted: %s hashes to %s", digest, p, got)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
