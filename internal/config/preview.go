package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// maxLabel is the longest DNS label.
const maxLabel = 63

// BranchSlug turns a branch name into the DNS label of its preview host:
// lower case, runs of characters outside [a-z0-9] as one "-", trimmed, at
// most 63 bytes; a name cut short ends in "-" and a hash of the whole
// name, so two long branches alike at the start keep distinct labels. It
// returns "" when nothing usable is left.
func BranchSlug(branch string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(branch) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > maxLabel {
		return SuffixedLabel(s, branch)
	}
	return s
}

// SuffixedLabel returns label cut to leave room for "-" and a short hash
// of key, with that suffix: a DNS label of at most 63 bytes that differs
// from label whenever key does.
func SuffixedLabel(label, key string) string {
	sum := sha256.Sum256([]byte(key))
	suffix := hex.EncodeToString(sum[:])[:hashLen]
	base := strings.TrimRight(truncate(label, maxLabel-1-hashLen), "-")
	if base == "" {
		return "b" + suffix
	}
	return base + "-" + suffix
}

// hashLen is how many hex digits of sha256 tell labels apart: 24 bits, so
// a clash needs thousands of previews of one prefix.
const hashLen = 6

// PreviewTarget says which preview a definition is rendered for.
type PreviewTarget struct {
	Branch string
	PR     int // 0 for a branch without a pull request
	// Slug is the label of the preview host; "" means BranchSlug(Branch).
	// The preview manager sets it when the plain slug is taken.
	Slug string
	// Environment names the preview's environment; "" means pr-<PR>.
	Environment string
}

// PreviewFor returns the definition of the preview t: the base definition
// with preview.services applied (only those services when listed),
// FERRY_PREVIEW=1, FERRY_BRANCH and (for a pull request) FERRY_PR in every
// service's environment, and routes moved to the preview host
// <slug>.<preview domain> (services other than the main one — "web", else
// the first routed service by name — get <service>-<slug>.<domain>).
func (d *Definition) PreviewFor(t PreviewTarget) (*Definition, error) {
	slug := t.Slug
	if slug == "" {
		slug = BranchSlug(t.Branch)
	}
	if slug == "" {
		return nil, fmt.Errorf("preview: branch %q has no letter or digit to name a host with", t.Branch)
	}
	if !IsDNSLabel(slug) {
		return nil, fmt.Errorf("preview: slug %q is not a DNS label", slug)
	}
	if t.PR < 0 {
		return nil, fmt.Errorf("preview: pull request number %d is negative", t.PR)
	}
	env := t.Environment
	if env == "" {
		if t.PR == 0 {
			return nil, fmt.Errorf("preview: branch %q: a preview without a pull request needs an environment name", t.Branch)
		}
		env = fmt.Sprintf("pr-%d", t.PR)
	}
	if !IsDNSLabel(env) {
		return nil, fmt.Errorf("preview: environment %q is not a DNS label", env)
	}
	if d.base == nil {
		return nil, fmt.Errorf("preview: definition was not loaded by config.Load or config.Parse")
	}
	ps := &problems{file: d.File}
	dec := &decoder{ps: ps, at: map[string]*node{}}
	over := d.base.get("preview").get("services")
	p := dec.definition(withServices(d.base, d.base.get("services"), checkOverlay(ps, d.base.get("services"), over)))
	if err := ps.err(d.secrets); err != nil {
		return nil, err
	}
	if len(p.Preview.Services) > 0 {
		for name := range p.Services {
			if !contains(p.Preview.Services, name) {
				delete(p.Services, name)
			}
		}
	}
	main := ""
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if len(s.Routes) > 0 && (main == "" || name == "web") {
			main = name
		}
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		vars := make(map[string]string, len(s.Env)+3)
		for k, v := range s.Env {
			vars[k] = v
		}
		vars["FERRY_PREVIEW"], vars["FERRY_BRANCH"] = "1", t.Branch
		if t.PR > 0 {
			vars["FERRY_PR"] = strconv.Itoa(t.PR)
		}
		s.Env = vars
		if len(s.Routes) == 0 {
			continue
		}
		label := slug
		if name != main {
			if label = name + "-" + slug; len(label) > maxLabel {
				label = SuffixedLabel(label, label)
			}
		}
		host := label + "." + p.Preview.Domain
		var routes []Route
		for _, r := range s.Routes {
			nr := Route{Host: host, Path: r.Path}
			if !containsRoute(routes, nr) {
				routes = append(routes, nr)
			}
		}
		s.Routes = routes
	}
	p.File, p.Environment = d.File, env
	p.base, p.secrets, p.at = d.base, d.secrets, dec.at
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func containsRoute(list []Route, r Route) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}
