package config

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Verify checks what loading cannot: that every service taking traffic has
// a health path, and — when dir is not "" — that each process service's
// command and hook commands name an executable in dir (the release
// directory; the repository when nothing is built) or on $PATH. Problems
// are positioned where the definition names the thing.
func (d *Definition) Verify(dir string) []Problem {
	ps := &problems{file: d.File}
	for _, name := range d.ServiceNames() {
		s := d.Services[name]
		canon := "services." + name
		if s.Port != "" && s.Health.Path == "" {
			d.problemAt(ps, canon+".port", "a service with a port needs health.path: ferry puts a task in rotation only after its health check passes")
		}
		if dir == "" || s.Runtime != RuntimeProcess {
			continue
		}
		d.checkCommand(ps, dir, canon+".command", s.Command)
		hooks := []struct {
			name string
			h    *Hook
		}{{"launch", s.Hooks.Launch}, {"before_traffic", s.Hooks.BeforeTraffic}, {"after_traffic", s.Hooks.AfterTraffic}, {"pre_stop", s.Hooks.PreStop}}
		for _, h := range hooks {
			if h.h != nil {
				d.checkCommand(ps, dir, canon+".hooks."+h.name+".command", h.h.Command)
			}
		}
	}
	if err := ps.err(d.secrets); err != nil {
		return err.(*Errors).Problems
	}
	return nil
}

func (d *Definition) problemAt(ps *problems, canon, format string, args ...any) {
	if n := d.at[canon]; n != nil {
		ps.at(n, format, args...)
		return
	}
	ps.add(0, 0, canon, format, args...)
}

func (d *Definition) checkCommand(ps *problems, dir, canon string, argv []string) {
	if len(argv) == 0 {
		return
	}
	prog := argv[0]
	if !strings.Contains(prog, "/") {
		if _, err := exec.LookPath(prog); err != nil {
			hint := ""
			if isExecutable(filepath.Join(dir, prog)) == nil {
				hint = fmt.Sprintf(" (write ./%s for the program in %s)", prog, dir)
			}
			d.problemAt(ps, canon, "%q is not on $PATH%s", prog, hint)
		}
		return
	}
	path := prog
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, prog)
	}
	if err := isExecutable(path); err != nil {
		d.problemAt(ps, canon, "%s", err)
	}
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("%s does not exist", path)
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s is a directory, not a program", path)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %04o)", path, fi.Mode().Perm())
	}
	return nil
}

// ImageChecker tells whether a container engine has an image locally;
// *docker.Driver satisfies it.
type ImageChecker interface {
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// VerifyImages checks each docker service's image: a referenced one must be
// on the engine images asks (ferry pulls nothing), a built one needs its
// Dockerfile inside its context in repo. An engine that cannot be asked is a
// problem of the service that needs it, not a failure of the check.
func (d *Definition) VerifyImages(ctx context.Context, repo string, images ImageChecker) []Problem {
	ps := &problems{file: d.File}
	for _, name := range d.ServiceNames() {
		s := d.Services[name]
		if s.Runtime != RuntimeDocker || s.Image == nil {
			continue
		}
		canon := "services." + name
		im := s.Image
		if im.Ref != "" {
			ok, err := images.ImageExists(ctx, im.Ref)
			switch {
			case err != nil:
				d.problemNear(ps, canon+".image.ref", canon, "cannot check image %s: %v", im.Ref, err)
			case !ok:
				d.problemNear(ps, canon+".image.ref", canon, "image %s is not on the Docker engine (ferry pulls nothing: build or load it first)", im.Ref)
			}
			continue
		}
		if msg := dockerfileProblem(repo, im.Context, im.Dockerfile); msg != "" {
			d.problemNear(ps, canon+".image.dockerfile", canon, "%s", msg)
		}
	}
	if err := ps.err(d.secrets); err != nil {
		return err.(*Errors).Problems
	}
	return nil
}

// problemNear reports a problem of field at the node that names it, else at
// the first field written of the service (canon): a field left to its
// default is not written.
func (d *Definition) problemNear(ps *problems, field, canon, format string, args ...any) {
	n := d.at[field]
	if n == nil {
		for k, v := range d.at {
			if strings.HasPrefix(k, canon+".") && (n == nil || v.line < n.line || v.line == n.line && v.col < n.col) {
				n = v
			}
		}
	}
	if n == nil {
		ps.add(0, 0, field, format, args...)
		return
	}
	ps.add(n.line, n.col, field, format, args...)
}

// dockerfileProblem says what is wrong with the Dockerfile of a build
// context, "" when it is a file inside the context as the engine needs.
func dockerfileProblem(repo, buildContext, dockerfile string) string {
	df := filepath.Clean(dockerfile)
	if filepath.IsAbs(dockerfile) || df == ".." || strings.HasPrefix(df, "../") {
		return fmt.Sprintf("%q must be a path inside the build context %s", dockerfile, buildContext)
	}
	path := filepath.Join(repo, buildContext, df)
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Sprintf("%s does not exist (the image is built from it)", path)
	case err != nil:
		return err.Error()
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("%s is not a file", path)
	}
	return ""
}
