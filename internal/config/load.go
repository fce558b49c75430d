package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Options tune how a definition is loaded.
type Options struct {
	// Environment is the overlay to apply: "" for the base definition, else
	// a name under environments (an unknown name is an error listing them).
	Environment string
	// Home is $FERRY_HOME, where secrets live; "" = environment only.
	Home string
	// LookupEnv reads environment variables; nil = os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// TFState is the Terraform state location (path or URL) for tfstate;
	// "" = $FERRY_TFSTATE.
	TFState string
}

func (o Options) lookupEnv(name string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// maxFile bounds a definition's size; real ones are a few kilobytes.
const maxFile = 1 << 20

// Load reads, templates, decodes and validates the definition at path,
// applies the requested environment overlay and the defaults. Problems in
// the definition come back as *Errors, all at once.
func Load(path string, opts Options) (*Definition, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &MissingError{Path: absPath(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("reading definition: %w", err)
	}
	return Parse(path, data, opts)
}

// MissingError is Load's answer when there is no file at Path; it is an
// fs.ErrNotExist.
type MissingError struct{ Path string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("no deploy definition at %s: run ferry where your app's ferry.yaml is, pass --file, or write one with `ferry init`", e.Path)
}

func (e *MissingError) Unwrap() error { return fs.ErrNotExist }

// absPath is path made absolute for a message, or path when it cannot be.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// Parse is Load from bytes; name is the file name used in problems and
// its directory is where file paths are resolved.
func Parse(name string, data []byte, opts Options) (*Definition, error) {
	ps := &problems{file: name}
	if len(data) > maxFile {
		ps.add(0, 0, "", "definition is %d bytes; the limit is %d", len(data), maxFile)
		return nil, ps.err(nil)
	}
	root := parseTree(data, ps)
	if root == nil {
		return nil, ps.err(nil)
	}
	if root.kind != kMap {
		ps.at(root, "expected a mapping of fields (app, services, ...), got %s", root.kind)
		return nil, ps.err(nil)
	}
	secrets := &masker{}
	t := &templater{dir: filepath.Dir(name), opts: opts, secrets: secrets}
	t.expand(root, ps)

	dec := &decoder{ps: ps, at: map[string]*node{}}
	def := dec.definition(root)
	base := root.get("services")

	var chosen *Definition
	var chosenAt map[string]*node
	if envs := root.get("environments"); envs != nil && envs.kind == kMap {
		for _, e := range envs.entries {
			if !IsDNSLabel(e.key.str) {
				ps.add(e.key.line, e.key.col, e.key.path, "environment name %q is not a DNS label: use lower-case letters, digits and -", e.key.str)
			}
			ed := &decoder{ps: ps, at: map[string]*node{}}
			over := ed.fields(e.val, e.key.path, "services")["services"]
			merged := ed.definition(withServices(root, base, checkOverlay(ps, base, over)))
			if e.key.str == opts.Environment {
				chosen, chosenAt = merged, ed.at
			}
		}
	}
	if pv := root.get("preview"); pv != nil {
		pd := &decoder{ps: ps, at: map[string]*node{}}
		pd.definition(withServices(root, base, checkOverlay(ps, base, pv.get("services"))))
	}
	if err := ps.err(secrets); err != nil {
		return nil, err
	}
	if opts.Environment != "" {
		if chosen == nil {
			known := "none are defined"
			if len(def.Environments) > 0 {
				known = "known: " + strings.Join(def.Environments, ", ")
			}
			return nil, &Errors{Problems: []Problem{{File: name, Field: "environments",
				Msg: fmt.Sprintf("no environment %q (%s)%s", opts.Environment, known, suggest(opts.Environment, def.Environments))}}}
		}
		def, dec.at = chosen, chosenAt
	}
	def.File, def.Environment = name, opts.Environment
	def.base, def.secrets, def.at = root, secrets, dec.at
	return def, nil
}

// checkOverlay reports overlay services that the base does not define and
// returns the overlay without them (so they cause no further problems).
func checkOverlay(ps *problems, base, over *node) *node {
	if over == nil || over.kind == kNull {
		return nil
	}
	if over.kind != kMap {
		ps.at(over, "expected a mapping of service names to overrides, got %s", over.kind)
		return nil
	}
	var names []string
	if base != nil {
		for _, e := range base.entries {
			names = append(names, e.key.str)
		}
	}
	out := *over
	out.entries = nil
	for _, e := range over.entries {
		if base.get(e.key.str) == nil {
			ps.add(e.key.line, e.key.col, e.key.path, "no service %q in services%s", e.key.str, suggest(e.key.str, names))
			continue
		}
		out.entries = append(out.entries, e)
	}
	return &out
}

// withServices returns root with its services overlaid by over.
func withServices(root, base, over *node) *node {
	out := *root
	out.entries = make([]entry, len(root.entries))
	copy(out.entries, root.entries)
	for i, e := range out.entries {
		if e.key.str == "services" {
			out.entries[i].val = mergeOverlay(base, over)
		}
	}
	return &out
}
