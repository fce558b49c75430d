package preview

import (
	"fmt"
	"strconv"

	"github.com/ferrycd/ferry/internal/config"
)

// maxCandidates bounds the search for a free label; past it the store is
// full of deliberate collisions.
const maxCandidates = 8

// chooseSlug returns the host label of a new preview of branch: the
// branch's slug when free, else the slug with a hash of the preview's
// identity, so two branches that slug alike ("feature/a" and
// "feature-a") get distinct, stable hosts. taken reports whether a label
// is already another preview's.
func chooseSlug(branch, identity string, taken func(string) bool) (string, error) {
	base := config.BranchSlug(branch)
	if base != "" && !taken(base) {
		return base, nil
	}
	for i := range maxCandidates {
		key := identity
		if i > 0 {
			key += "#" + strconv.Itoa(i)
		}
		if s := config.SuffixedLabel(base, key); !taken(s) {
			return s, nil
		}
	}
	return "", fmt.Errorf("preview of %s: no free host label for branch %q", identity, branch)
}

// envName is the environment of a preview: pr-<n> for a pull request,
// br-<slug> for a branch, bh-<cut slug>-<hash> for a branch whose slug is
// too long for that: a prefix of its own, so no short slug can spell it.
func envName(pr int, slug string) string {
	if pr > 0 {
		return "pr-" + strconv.Itoa(pr)
	}
	if e := "br-" + slug; len(e) <= 63 {
		return e
	}
	return config.SuffixedLabel("bh-"+slug, slug)
}
