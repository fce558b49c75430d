package github

import (
	"fmt"
	"regexp"
	"strings"

	gh "github.com/google/go-github/v73/github"
)

// Event kinds ferry acts on; any other X-GitHub-Event is accepted and
// ignored.
const (
	KindPullRequest = "pull_request"
	KindPush        = "push"
	KindPing        = "ping"
)

// Event is what ferry needs of one delivery.
type Event struct {
	Kind          string // X-GitHub-Event
	Action        string // pull_request: opened, reopened, synchronize, closed, labeled, unlabeled...
	Repo          string // owner/name
	CloneURL      string
	DefaultBranch string
	PR            int    // pull_request only
	Branch        string // the PR's head branch, or the pushed branch
	SHA           string // the PR's head commit, or the push's new head
	Merged        bool   // closed pull requests
	Labels        []string
	Label         string // labeled and unlabeled: the label added or removed
	Deleted       bool   // push: the branch was deleted
}

var sha1Hex = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Parse decodes a delivery of the given X-GitHub-Event. A payload that is
// not the documented shape, or lacks what ferry acts on, is an error naming
// the field; an event kind ferry does not act on decodes to just its Kind.
func Parse(kind string, payload []byte) (Event, error) {
	switch kind {
	case KindPullRequest, KindPush, KindPing:
	default:
		return Event{Kind: kind}, nil
	}
	v, err := gh.ParseWebHook(kind, payload)
	if err != nil {
		return Event{}, fmt.Errorf("%s payload: %v", kind, err)
	}
	switch e := v.(type) {
	case *gh.PullRequestEvent:
		return pullRequest(e)
	case *gh.PushEvent:
		return push(e)
	}
	if kind != KindPing {
		// JSON null decodes to no event at all.
		return Event{}, fmt.Errorf("%s payload: not a JSON object", kind)
	}
	return Event{Kind: kind}, nil
}

func pullRequest(e *gh.PullRequestEvent) (Event, error) {
	pr := e.GetPullRequest()
	ev := Event{
		Kind: KindPullRequest, Action: e.GetAction(), Repo: e.GetRepo().GetFullName(),
		CloneURL: e.GetRepo().GetCloneURL(), DefaultBranch: e.GetRepo().GetDefaultBranch(),
		PR: e.GetNumber(), Branch: pr.GetHead().GetRef(), SHA: pr.GetHead().GetSHA(),
		Merged: pr.GetMerged(), Label: e.GetLabel().GetName(),
	}
	if ev.PR == 0 {
		ev.PR = pr.GetNumber()
	}
	if pr != nil { // a payload without pull_request is refused below, not dereferenced
		for _, l := range pr.Labels {
			ev.Labels = append(ev.Labels, l.GetName())
		}
	}
	switch {
	case ev.Action == "":
		return Event{}, fmt.Errorf("pull_request payload: no action")
	case ev.Repo == "" || !strings.Contains(ev.Repo, "/"):
		return Event{}, fmt.Errorf("pull_request payload: repository.full_name %q is not owner/name", ev.Repo)
	case ev.PR <= 0:
		return Event{}, fmt.Errorf("pull_request payload: number %d is not a pull request number", ev.PR)
	case ev.Branch == "":
		return Event{}, fmt.Errorf("pull_request payload: no pull_request.head.ref")
	case !sha1Hex.MatchString(ev.SHA):
		return Event{}, fmt.Errorf("pull_request payload: pull_request.head.sha %q is not a commit sha", ev.SHA)
	}
	return ev, nil
}

func push(e *gh.PushEvent) (Event, error) {
	ref := e.GetRef()
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	ev := Event{
		Kind: KindPush, Repo: e.GetRepo().GetFullName(), CloneURL: e.GetRepo().GetCloneURL(),
		DefaultBranch: e.GetRepo().GetDefaultBranch(), Branch: branch, SHA: e.GetAfter(), Deleted: e.GetDeleted(),
	}
	switch {
	case ev.Repo == "" || !strings.Contains(ev.Repo, "/"):
		return Event{}, fmt.Errorf("push payload: repository.full_name %q is not owner/name", ev.Repo)
	case ref == "":
		return Event{}, fmt.Errorf("push payload: no ref")
	case !ok:
		return Event{Kind: KindPush, Repo: ev.Repo}, nil // a tag: nothing to deploy
	case !ev.Deleted && !sha1Hex.MatchString(ev.SHA):
		return Event{}, fmt.Errorf("push payload: after %q is not a commit sha", ev.SHA)
	}
	return ev, nil
}
