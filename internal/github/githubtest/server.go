// Package githubtest is a GitHub REST API stand-in for tests: the few
// endpoints previews use (deployments and their statuses, issue comments,
// open pull requests), answering with GitHub's documented request checks
// and response shapes, and recording what it was asked.
package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Status is one deployment status as received.
type Status struct {
	State          string `json:"state"`
	EnvironmentURL string `json:"environment_url,omitempty"`
	LogURL         string `json:"log_url,omitempty"`
}

// Deployment is one deployment as received, with its statuses in order.
type Deployment struct {
	ID          int64
	Repo        string
	Ref         string
	Environment string
	Transient   bool
	Statuses    []Status
}

// Comment is an issue comment as it stands.
type Comment struct {
	ID    int64
	Repo  string
	PR    int
	Body  string
	Edits int
}

// Server is a fake api.github.com. Create it with New.
type Server struct {
	*httptest.Server
	Token string // the bearer token every request must carry

	mu          sync.Mutex
	next        int64
	deployments []*Deployment
	comments    map[int64]*Comment
	open        map[string][]int
}

// New starts a server closed at the end of t, requiring token.
func New(t testing.TB, token string) *Server {
	s := &Server{Token: token, next: 1000, comments: map[int64]*Comment{}, open: map[string][]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments", s.createDeployment)
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments/{id}/statuses", s.createStatus)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	s.Server = httptest.NewServer(s.auth(mux))
	t.Cleanup(s.Close)
	return s
}

// SetOpen sets repo's open pull requests.
func (s *Server) SetOpen(repo string, prs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[repo] = slices.Clone(prs)
}

// Deployments returns copies of the deployments received, oldest first.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Deployment, 0, len(s.deployments))
	for _, d := range s.deployments {
		c := *d
		c.Statuses = slices.Clone(d.Statuses)
		out = append(out, c)
	}
	return out
}

// Comments returns copies of the comments on repo's pull request pr.
func (s *Server) Comments(repo string, pr int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Repo == repo && c.PR == pr {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Comment) int { return int(a.ID - b.ID) })
	return out
}

func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			fail(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

func (s *Server) id() int64 { s.next++; return s.next }

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ref                  string    `json:"ref"`
		Environment          string    `json:"environment"`
		Description          string    `json:"description"`
		TransientEnvironment bool      `json:"transient_environment"`
		RequiredContexts     *[]string `json:"required_contexts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Ref == "" {
		fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	if req.Environment == "" {
		req.Environment = "production"
	}
	s.mu.Lock()
	d := &Deployment{ID: s.id(), Repo: repoOf(r), Ref: req.Ref, Environment: req.Environment, Transient: req.TransientEnvironment}
	s.deployments = append(s.deployments, d)
	s.mu.Unlock()
	reply(w, http.StatusCreated, map[string]any{
		"url": fmt.Sprintf("%s/repos/%s/deployments/%d", s.URL, d.Repo, d.ID), "id": d.ID,
		"sha": req.Ref, "ref": req.Ref, "task": "deploy", "environment": d.Environment,
		"description": req.Description, "transient_environment": d.Transient, "production_environment": false,
		"created_at": "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z",
		"statuses_url": fmt.Sprintf("%s/repos/%s/deployments/%d/statuses", s.URL, d.Repo, d.ID),
	})
}

// statusStates are the states GitHub accepts.
var statusStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var st Status
	if err := json.NewDecoder(r.Body).Decode(&st); err != nil || !slices.Contains(statusStates, st.State) {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	s.mu.Lock()
	var d *Deployment
	for _, x := range s.deployments {
		if x.ID == id && x.Repo == repoOf(r) {
			d = x
		}
	}
	if d != nil {
		d.Statuses = append(d.Statuses, st)
	}
	sid := s.id()
	s.mu.Unlock()
	if d == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	reply(w, http.StatusCreated, map[string]any{
		"id": sid, "state": st.State, "environment_url": st.EnvironmentURL, "log_url": st.LogURL,
		"deployment_url": fmt.Sprintf("%s/repos/%s/deployments/%d", s.URL, d.Repo, d.ID),
		"created_at":     "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z",
	})
}

func (s *Server) commentReply(w http.ResponseWriter, status int, c *Comment) {
	reply(w, status, map[string]any{
		"id": c.ID, "body": c.Body, "url": fmt.Sprintf("%s/repos/%s/issues/comments/%d", s.URL, c.Repo, c.ID),
		"html_url":   fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", c.Repo, c.PR, c.ID),
		"created_at": "2011-04-14T16:00:49Z", "updated_at": "2011-04-14T16:00:49Z",
	})
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	pr, err := strconv.Atoi(r.PathValue("number"))
	var req struct {
		Body string `json:"body"`
	}
	if err != nil || json.NewDecoder(r.Body).Decode(&req) != nil || req.Body == "" {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	s.mu.Lock()
	c := &Comment{ID: s.id(), Repo: repoOf(r), PR: pr, Body: req.Body}
	s.comments[c.ID] = c
	out := *c
	s.mu.Unlock()
	s.commentReply(w, http.StatusCreated, &out)
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var req struct {
		Body string `json:"body"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Body == "" {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	s.mu.Lock()
	c := s.comments[id]
	if c != nil && c.Repo == repoOf(r) {
		c.Body = req.Body
		c.Edits++
	}
	var out Comment
	if c != nil {
		out = *c
	}
	s.mu.Unlock()
	if c == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.commentReply(w, http.StatusOK, &out)
}

// DeleteComment removes a comment, as a user deleting it would.
func (s *Server) DeleteComment(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.comments, id)
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	if st := r.URL.Query().Get("state"); st != "open" {
		fail(w, http.StatusUnprocessableEntity, "only state=open is served here")
		return
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	s.mu.Lock()
	all := slices.Clone(s.open[repoOf(r)])
	s.mu.Unlock()
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	items := []map[string]any{}
	for _, n := range all[lo:hi] {
		items = append(items, map[string]any{
			"number": n, "state": "open", "url": fmt.Sprintf("%s/repos/%s/pulls/%d", s.URL, repoOf(r), n),
		})
	}
	if hi < len(all) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	reply(w, http.StatusOK, items)
}
