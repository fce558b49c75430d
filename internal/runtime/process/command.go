package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolveCommand finds the program a task runs, before anything is started:
// a name with a slash is relative to the release directory dir, a bare name
// is searched in the task's PATH. Errors start with field, the name of what
// the user wrote (for a task, its ferry.yaml field services.<name>.command).
func resolveCommand(field string, command []string, dir, pathEnv string) (string, error) {
	if len(command) == 0 || command[0] == "" {
		return "", fmt.Errorf("%s: empty", field)
	}
	name := command[0]
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s: %s: %v in %s", field, name, err, dir)
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue // a relative PATH entry would depend on the cwd
		}
		p := filepath.Join(d, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %s: not found in the task's PATH (%s)", field, name, pathEnv)
}

// checkExecutable reports why p cannot be executed, if it cannot.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("not found")
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("is a directory")
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("not executable (mode %v)", fi.Mode().Perm())
	}
	return nil
}
