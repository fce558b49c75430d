package preview

import "sort"

// BranchChange is what a watched repository's branch asks of its preview:
// deploy SHA, or destroy it when Gone.
type BranchChange struct {
	Branch string
	SHA    string
	Gone   bool
}

// DiffBranches compares the branch heads seen before with those now, and
// returns, by branch name, a deploy for every branch but the default one
// that is new or moved, and a destroy for every branch that went (or
// became the default).
func DiffBranches(prev, cur map[string]string, defaultBranch string) []BranchChange {
	var out []BranchChange
	for b, sha := range cur {
		if b != defaultBranch && prev[b] != sha {
			out = append(out, BranchChange{Branch: b, SHA: sha})
		}
	}
	for b := range prev {
		if _, ok := cur[b]; !ok || b == defaultBranch {
			out = append(out, BranchChange{Branch: b, Gone: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Branch < out[j].Branch })
	return out
}
