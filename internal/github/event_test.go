package github

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// payload returns a documented example payload from testdata with fields
// replaced (dotted paths into the JSON object; nil deletes).
func payload(t *testing.T, file string, set map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		if v == nil {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = v
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParse(t *testing.T) {
	const sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	repo := func(e Event) Event {
		e.Repo, e.CloneURL, e.DefaultBranch = "Codertocat/Hello-World", "https://github.com/Codertocat/Hello-World.git", "master"
		return e
	}
	cases := []struct {
		name    string
		kind    string
		body    []byte
		want    Event
		wantErr string
	}{
		{name: "opened", kind: "pull_request", body: payload(t, "pull_request_opened.json", nil),
			want: repo(Event{Kind: KindPullRequest, Action: "opened", PR: 2, Branch: "changes", SHA: sha, Labels: []string{"bug"}})},
		{name: "closed merged", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"action": "closed", "pull_request.merged": true}),
			want: repo(Event{Kind: KindPullRequest, Action: "closed", PR: 2, Branch: "changes", SHA: sha, Merged: true, Labels: []string{"bug"}})},
		{name: "labeled", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"action": "labeled", "label": map[string]any{"name": "preview"}}),
			want: repo(Event{Kind: KindPullRequest, Action: "labeled", PR: 2, Branch: "changes", SHA: sha, Label: "preview", Labels: []string{"bug"}})},
		{name: "push", kind: "push", body: payload(t, "push.json", nil),
			want: repo(Event{Kind: KindPush, Branch: "master", SHA: "0000000000000000000000000000000000000001"})},
		{name: "branch deleted", kind: "push",
			body: payload(t, "push.json", map[string]any{"ref": "refs/heads/changes", "deleted": true, "after": "0000000000000000000000000000000000000000"}),
			want: repo(Event{Kind: KindPush, Branch: "changes", SHA: "0000000000000000000000000000000000000000", Deleted: true})},
		{name: "tag push", kind: "push", body: payload(t, "push.json", map[string]any{"ref": "refs/tags/v1"}),
			want: Event{Kind: KindPush, Repo: "Codertocat/Hello-World"}},
		{name: "event ferry ignores", kind: "issues", body: []byte(`{"whatever": true}`), want: Event{Kind: "issues"}},
		{name: "not JSON", kind: "pull_request", body: []byte(`{"action": "opened",`), wantErr: "pull_request payload"},
		{name: "no head sha", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"pull_request.head.sha": nil}), wantErr: "head.sha"},
		{name: "no repository", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"repository": nil}), wantErr: "full_name"},
		{name: "no number", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"number": nil, "pull_request.number": nil}), wantErr: "number"},
		{name: "wrong type", kind: "pull_request",
			body: payload(t, "pull_request_opened.json", map[string]any{"number": "two"}), wantErr: "pull_request payload"},
		{name: "push without sha", kind: "push", body: payload(t, "push.json", map[string]any{"after": "HEAD"}), wantErr: "after"},
	}
	for _, tc := range cases {
		got, err := Parse(tc.kind, tc.body)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Parse error = %v, want one naming %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
