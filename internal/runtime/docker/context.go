package docker

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ignoreRule is one line of a .dockerignore: a path pattern, or with "!" an
// exception to the rules before it.
type ignoreRule struct {
	pattern string
	except  bool
}

// parseIgnore reads .dockerignore rules; a malformed pattern is an error
// naming its line.
func parseIgnore(r io.Reader, name string) ([]ignoreRule, error) {
	var rules []ignoreRule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rule := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			rule.except, line = true, strings.TrimSpace(line[1:])
		}
		rule.pattern = path.Clean(strings.TrimPrefix(filepath.ToSlash(line), "/"))
		if _, err := path.Match(rule.pattern, ""); err != nil {
			return nil, fmt.Errorf("%s:%d: pattern %q: %v", name, n, line, err)
		}
		rules = append(rules, rule)
	}
	return rules, sc.Err()
}

// ignored reports whether rel (slash-separated, relative to the context) is
// left out: the last rule matching it or one of its parent directories wins.
func ignored(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		if matchesPathOrParent(r.pattern, rel) {
			out = !r.except
		}
	}
	return out
}

func matchesPathOrParent(pattern, rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
	}
	return false
}

// writeContext writes dir as the build context tar: regular files,
// directories and symlinks, owned by root, minus .git and what
// .dockerignore leaves out (the Dockerfile and .dockerignore always go).
// Each overlay (a path in the context → a directory on this machine)
// replaces whatever dir holds at that path.
func writeContext(w io.Writer, dir, dockerfile string, overlay map[string]string) error {
	var rules []ignoreRule
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		rules, err = parseIgnore(f, filepath.Join(dir, ".dockerignore"))
		f.Close()
		if err != nil {
			return err
		}
	}
	tw := tar.NewWriter(w)
	under := func(rel string) bool {
		for at := range overlay {
			if rel == at || strings.HasPrefix(rel, at+"/") {
				return true
			}
		}
		return false
	}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		keep := rel == dockerfile || rel == ".dockerignore"
		if !keep && (rel == ".git" || ignored(rules, rel) || under(rel)) {
			if e.IsDir() && (under(rel) || !hasException(rules, rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(tw, p, rel, e)
	})
	if err != nil {
		return err
	}
	for at, src := range overlay {
		err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			return addEntry(tw, p, path.Join(at, filepath.ToSlash(rel)), e)
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// addEntry writes the file p as name: a regular file, directory or symlink,
// owned by root; other kinds are skipped.
func addEntry(tw *tar.Writer, p, name string, e fs.DirEntry) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	} else if !info.Mode().IsRegular() && !info.IsDir() {
		return nil // sockets, devices, pipes: nothing a build can use
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = name, 0, 0, "", ""
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// hasException reports whether an exception rule may re-include something
// under dir, so the walk must descend into it.
func hasException(rules []ignoreRule, dir string) bool {
	for _, r := range rules {
		if r.except && strings.HasPrefix(r.pattern, dir+"/") {
			return true
		}
	}
	return false
}
