package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrycd/ferry/internal/home"
)

// The API token is 32 random bytes, base64url. The server keeps only its
// sha256: a fast hash is enough for a high-entropy secret (no dictionary to
// attack). The token itself goes to home.TokenFile (0600) for the local CLI;
// remote CLIs are given it through FERRY_TOKEN.

// EnsureToken creates the API token if the home has none yet, and returns it
// with created=true; when one exists it returns "", false. It refuses while
// a server runs on the home, so a token is never created under a live server.
func EnsureToken(h home.Dir) (token string, created bool, err error) {
	unlock, err := acquireLock(h)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	return ensureToken(h, false)
}

// RotateToken replaces the API token and returns the new one. It refuses
// while a server runs on the home: that server would keep accepting the old
// token.
func RotateToken(h home.Dir) (string, error) {
	unlock, err := acquireLock(h)
	if err != nil {
		return "", err
	}
	defer unlock()
	tok, _, err := ensureToken(h, true)
	return tok, err
}

// ensureToken does EnsureToken's work (or a rotation) under a lock the caller holds.
func ensureToken(h home.Dir, rotate bool) (string, bool, error) {
	if !rotate {
		_, err := os.Stat(h.TokenHashFile())
		if err == nil {
			return "", false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("API token hash: %w", err)
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("API token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	// The hash goes last: its presence is what marks the token as created.
	if err := writeFileAtomic(h.TokenFile(), []byte(tok+"\n")); err != nil {
		return "", false, fmt.Errorf("API token: %w", err)
	}
	if err := writeFileAtomic(h.TokenHashFile(), []byte(hex.EncodeToString(sum[:])+"\n")); err != nil {
		return "", false, fmt.Errorf("API token hash: %w", err)
	}
	return tok, true, nil
}

// loadTokenHash reads the stored hash.
func loadTokenHash(h home.Dir) ([]byte, error) {
	b, err := os.ReadFile(h.TokenHashFile())
	if err != nil {
		return nil, fmt.Errorf("API token hash: %w", err)
	}
	sum, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("API token hash %s: not a hex sha256 (remove it and restart to create a new token)", h.TokenHashFile())
	}
	return sum, nil
}

// tokenMatches compares a presented token with the stored hash in constant time.
func tokenMatches(hash []byte, presented string) bool {
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(hash, sum[:]) == 1
}

// writeFileAtomic writes data to path with mode 0600 through a rename, so a
// reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
