package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v73/github"
)

// Deployment status states ferry reports.
const (
	StateInProgress = "in_progress"
	StateSuccess    = "success"
	StateFailure    = "failure"
	StateInactive   = "inactive"
)

// Client reports previews back to GitHub's REST API.
type Client struct {
	c *gh.Client
}

// NewClient returns a client of the REST API at baseURL ("" means
// https://api.github.com/) authenticated with token. hc nil means
// http.DefaultClient.
func NewClient(baseURL, token string, hc *http.Client) (*Client, error) {
	c := gh.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" {
		if !strings.HasSuffix(baseURL, "/") {
			baseURL += "/"
		}
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("github api url %q: not an http(s) URL", baseURL)
		}
		c.BaseURL = u
	}
	return &Client{c: c}, nil
}

func split(repo string) (string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("github: repository %q is not owner/name", repo)
	}
	return owner, name, nil
}

// CreateDeployment creates a transient deployment of ref to environment
// and returns its id. Required status checks are not waited for: the
// preview is of the branch as it is.
func (c *Client) CreateDeployment(ctx context.Context, repo, ref, environment, description string) (int64, error) {
	owner, name, err := split(repo)
	if err != nil {
		return 0, err
	}
	d, _, err := c.c.Repositories.CreateDeployment(ctx, owner, name, &gh.DeploymentRequest{
		Ref: gh.Ptr(ref), Environment: gh.Ptr(environment), Description: gh.Ptr(description),
		TransientEnvironment: gh.Ptr(true), ProductionEnvironment: gh.Ptr(false),
		AutoMerge: gh.Ptr(false), RequiredContexts: &[]string{},
	})
	if err != nil {
		return 0, fmt.Errorf("github: creating a deployment of %s: %w", repo, err)
	}
	return d.GetID(), nil
}

// SetDeploymentStatus adds a status to deployment id: environmentURL with
// success, logURL with failure ("" omits either).
func (c *Client) SetDeploymentStatus(ctx context.Context, repo string, id int64, state, environmentURL, logURL string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	req := &gh.DeploymentStatusRequest{State: gh.Ptr(state)}
	if environmentURL != "" {
		req.EnvironmentURL = gh.Ptr(environmentURL)
	}
	if logURL != "" {
		req.LogURL = gh.Ptr(logURL)
	}
	if _, _, err := c.c.Repositories.CreateDeploymentStatus(ctx, owner, name, id, req); err != nil {
		return fmt.Errorf("github: setting deployment %d of %s to %s: %w", id, repo, state, err)
	}
	return nil
}

// UpsertComment writes body as a comment on pull request pr: it edits
// comment id when id is not 0, and creates a comment otherwise (or when
// that comment is gone). It returns the comment's id.
func (c *Client) UpsertComment(ctx context.Context, repo string, pr int, id int64, body string) (int64, error) {
	owner, name, err := split(repo)
	if err != nil {
		return 0, err
	}
	if id != 0 {
		got, resp, err := c.c.Issues.EditComment(ctx, owner, name, id, &gh.IssueComment{Body: gh.Ptr(body)})
		if err == nil {
			return got.GetID(), nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return 0, fmt.Errorf("github: editing comment %d on %s#%d: %w", id, repo, pr, err)
		}
	}
	got, _, err := c.c.Issues.CreateComment(ctx, owner, name, pr, &gh.IssueComment{Body: gh.Ptr(body)})
	if err != nil {
		return 0, fmt.Errorf("github: commenting on %s#%d: %w", repo, pr, err)
	}
	return got.GetID(), nil
}

// OpenPulls returns the numbers of repo's open pull requests.
func (c *Client) OpenPulls(ctx context.Context, repo string) ([]int, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	opts := &gh.PullRequestListOptions{State: "open", ListOptions: gh.ListOptions{PerPage: 100}}
	var out []int
	for {
		prs, resp, err := c.c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("github: listing the open pull requests of %s: %w", repo, err)
		}
		for _, p := range prs {
			out = append(out, p.GetNumber())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
