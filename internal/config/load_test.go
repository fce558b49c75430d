package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadWithoutAFileSaysWhereItLookedAndWhatToDo(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "ferry.yaml"), Options{})
	var missing *MissingError
	if !errors.As(err, &missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v (%T), want a *MissingError that is fs.ErrNotExist", err, err)
	}
	for _, want := range []string{filepath.Join(dir, "ferry.yaml"), "--file", "ferry init"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
