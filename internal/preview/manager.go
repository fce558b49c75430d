package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/store"
)

// Environments deploys and destroys environments; the controller
// implements it.
type Environments interface {
	// Deploy rolls services out to req.App/req.Environment and returns once
	// every changed service is fully live, or an error saying why not.
	Deploy(ctx context.Context, req Deploy) error
	// Destroy stops every task of app/env in the usual stop order, removes
	// its router services, release directories and rows. Destroying what is
	// not there succeeds.
	Destroy(ctx context.Context, app, env string) error
}

// Deploy is one rollout of rendered services.
type Deploy struct {
	App, Environment string
	Runtime          string
	Services         map[string]config.Service
	Secrets          []string // values masked wherever they occur
	Artifact         string
	GitSHA           string
	Message          string
}

// Reporter reports previews back to the git host; *github.Client
// implements it.
type Reporter interface {
	CreateDeployment(ctx context.Context, repo, ref, environment, description string) (int64, error)
	SetDeploymentStatus(ctx context.Context, repo string, id int64, state, environmentURL, logURL string) error
	UpsertComment(ctx context.Context, repo string, pr int, id int64, body string) (int64, error)
	OpenPulls(ctx context.Context, repo string) ([]int, error)
}

// Config configures a Manager. Store, Home and Environments are required.
type Config struct {
	Store        *store.Store
	Home         home.Dir
	Environments Environments
	// Reporter, when set, gets a deployment per pull-request preview and
	// lists the open pull requests for the sweeper.
	Reporter Reporter
	// Repos maps a GitHub repository (owner/name) to where its commits are
	// fetched from: a clone URL or a local path. Deliveries of other
	// repositories are refused.
	Repos map[string]string
	// PushEnv is the environment a push to the default branch deploys;
	// "" deploys nothing.
	PushEnv string
	// URL is how users reach a preview host; nil means http://<host>:8080,
	// the embedded router's default.
	URL func(host string) string
	// LogURL is where a failed preview's log is; nil means no log URL.
	LogURL func(p store.Preview) string
	// SweepEvery is how often expired and orphaned previews are looked
	// for; 0 means a minute.
	SweepEvery time.Duration
	// Poll is how often the delivery queue is read when nothing wakes
	// it; 0 means a second.
	Poll time.Duration
	// Workers is how many webhook deliveries are processed at once (each
	// may build and deploy a preview); 0 means DefaultWorkers().
	Workers int
	Logger  *slog.Logger     // nil: slog.Default()
	Clock   func() time.Time // nil: time.Now
}

// DefaultWorkers is how many deliveries are processed at once unless
// Config.Workers says otherwise: one per core, at most four. Each may run
// a build, and builds side by side share the cores. On two cores,
// bench/preview's burst of six pull requests (three runs): one at a time,
// the first preview answered after 0.9–1.2 s and the last after 5.3–6.0 s;
// two at a time 1.1–1.4 s and 3.3–4.1 s; four at a time 2.1–2.7 s and
// 3.3–4.3 s.
func DefaultWorkers() int { return max(1, min(4, goruntime.NumCPU())) }

// Manager creates, updates and destroys previews. Create it with New.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	src  sources
	arts artifact.Store
	wake chan struct{}

	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// New returns a manager over cfg.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.URL == nil {
		cfg.URL = func(host string) string { return "http://" + host + ":8080" }
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers()
	}
	return &Manager{
		cfg: cfg, log: cfg.Logger, src: sources{dir: cfg.Home.SourcesDir()}, arts: artifact.Store{Home: cfg.Home},
		wake: make(chan struct{}, 1), locks: map[string]*keyLock{},
	}
}

func (m *Manager) now() time.Time { return m.cfg.Clock().UTC() }

// identity is a preview key as one string, for locks and hashes.
func identity(k store.PreviewKey) string {
	if k.PR > 0 {
		return k.Repo + "#" + strconv.Itoa(k.PR)
	}
	return k.Repo + "@" + k.Branch
}

// lock serialises work on one preview.
func (m *Manager) lock(k store.PreviewKey) func() {
	id := identity(k)
	m.mu.Lock()
	l := m.locks[id]
	if l == nil {
		l = &keyLock{}
		m.locks[id] = l
	}
	l.refs++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(m.locks, id)
		}
		m.mu.Unlock()
	}
}

func keyOf(p store.Preview) store.PreviewKey {
	return store.PreviewKey{Repo: p.Repo, PR: p.PR, Branch: p.Branch}
}

// state is what a preview needs besides its row: the artifact it runs (for
// its hooks) and its GitHub deployment and comment.
type state struct {
	// Hosts are every host the preview's services claim (the main one is
	// also the row's Host): what another preview's host must not be.
	Hosts      []string `json:"hosts,omitempty"`
	Source     string   `json:"source,omitempty"`
	Artifact   string   `json:"artifact,omitempty"`
	Deployment int64    `json:"github_deployment,omitempty"`
	Comment    int64    `json:"github_comment,omitempty"`
}

func stateKey(id int64) string { return "preview/" + strconv.FormatInt(id, 10) }

// metaStore is where a preview's state lives: the store, or a transaction
// of it.
type metaStore interface {
	GetMeta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
}

func readState(ctx context.Context, ms metaStore, id int64) state {
	var s state
	v, err := ms.GetMeta(ctx, stateKey(id))
	if err == nil {
		_ = json.Unmarshal([]byte(v), &s) // a damaged value only loses reporting and hosts
	}
	return s
}

func writeState(ctx context.Context, ms metaStore, id int64, s state) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return ms.SetMeta(ctx, stateKey(id), string(b))
}

func (m *Manager) loadState(ctx context.Context, id int64) state {
	return readState(ctx, m.cfg.Store, id)
}

func (m *Manager) saveState(ctx context.Context, id int64, s state) error {
	return writeState(ctx, m.cfg.Store, id, s)
}

// event records a line of the preview's trace; the trace is best effort.
func (m *Manager) event(ctx context.Context, p store.Preview, typ, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if _, err := m.cfg.Store.AppendEvent(ctx, store.Event{App: p.App, Env: p.Env, Preview: p.ID, Type: typ, Message: msg}); err != nil {
		m.log.Warn("preview event", "type", typ, "err", err)
	}
}

// Permanent marks an error retrying cannot fix (bad input, a failing
// build): the delivery that caused it is not retried.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	var p *Permanent
	if errors.As(err, &p) {
		return err
	}
	return &Permanent{Err: err}
}

// IsPermanent reports whether err is not worth retrying.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}
