package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/deploy"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/router/api"
	"github.com/ferrycd/ferry/internal/runtime"
	"github.com/ferrycd/ferry/internal/store"
)

// RouterClient is what the controller needs of the router's admin API;
// *client.Client satisfies it.
type RouterClient interface {
	PutService(ctx context.Context, s api.Service) error
	AddTarget(ctx context.Context, service, group string, t api.Target) error
	// RemoveTarget returns once the target has drained.
	RemoveTarget(ctx context.Context, service, group, targetID string) (api.DrainResult, error)
	Service(ctx context.Context, name string) (api.ServiceStatus, error)
	// SetWeights sets the named groups' weights in one step.
	SetWeights(ctx context.Context, service string, weights map[string]int) error
	// Metrics are a group's figures over the last window.
	Metrics(ctx context.Context, service, group string, window time.Duration) (api.Metrics, error)
}

// Deps are the parts the controller drives. Store, Driver and Artifacts are
// required; Router may be nil only when no service has a port and routes.
type Deps struct {
	Store  *store.Store
	Driver runtime.Driver
	// Drivers are further runtimes by the name ferry.yaml gives them
	// (runtime: docker); Driver runs the services of its own name.
	Drivers   map[string]runtime.Driver
	Router    RouterClient
	Artifacts artifact.Store
	Home      home.Dir
	// Notifier sends deployment events to the targets a revision names;
	// nil sends none.
	Notifier Notifier
	Logger   *slog.Logger     // nil: slog.Default()
	Clock    func() time.Time // nil: time.Now
	// Backoff paces replacements of crashed tasks; zero: the engine's
	// defaults.
	Backoff deploy.Backoff
	// KeepRevisions is how many recent revisions per service keep their
	// artifact and release directory (besides the live one and the rollback
	// target); 0 means 5.
	KeepRevisions int
	// KeepGoneOutputs is how many gone tasks per service keep their
	// output; 0 means 50.
	KeepGoneOutputs int
	// RetainEvery bounds how often retention runs for tasks that went away
	// outside a deployment (a crash loop's replaced tasks); 0 means a
	// minute. A deployment's end runs it regardless.
	RetainEvery time.Duration
}

// Poll intervals of a service loop: while anything is in flight, and when
// the service is at rest (a task exit is still seen within idlePoll).
const (
	busyPoll = 200 * time.Millisecond
	idlePoll = time.Second
)

// Controller runs the per-service loops. Create it with New; call Run once.
type Controller struct {
	d   Deps
	log *slog.Logger

	ports runtime.PortAllocator

	// retainMu keeps retention from removing an artifact a start is
	// unpacking or a deploy is recording: they hold it shared, Retain
	// exclusively.
	retainMu sync.RWMutex

	putMu sync.Mutex // held across a router PutService and recording it in put

	mu     sync.Mutex
	ctx    context.Context    // the loops'; nil before Run
	cancel context.CancelFunc // ends ctx (StopAll halts the loops with it)
	loops  map[int64]chan struct{}
	// effects holds the task ids (and other keys) with an effect under
	// way; the value records that a pass wanted another effect for the id
	// meanwhile and was refused, so the loop must look again once it ends.
	effects map[string]bool
	put     map[int64]int    // service id → revision whose config was last put in the router
	routed  map[string]int64 // router service name → service id, for watchHealth
	tests   map[int64]string // service id → group the router's test rules point at
	// registered is when each task was last added to the router: a
	// snapshot read before that is stale about it (see perform).
	registered map[string]time.Time
	// sampled holds each service's latest analysis sample.
	sampled map[int64]sampleState
	// seen is each service as its loop's last pass saw it, which a
	// deployment's progress is summarised from (status.go).
	seen  map[int64]deploy.ServiceState
	specs map[revKey]RevisionSpec
	// releases are the artifacts' release directories, by digest.
	releases map[string]*release
	launches inflight // starts under way, which stops let go first
	stops    inflight // stops under way: the last one wakes the loop
	// retained is when retention was last started.
	retained time.Time
	wg       sync.WaitGroup
}

type revKey struct {
	service int64
	rev     int
}

// New returns a controller over d.
func New(d Deps) *Controller {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.KeepRevisions <= 0 {
		d.KeepRevisions = 5
	}
	if d.KeepGoneOutputs <= 0 {
		d.KeepGoneOutputs = 50
	}
	if d.RetainEvery <= 0 {
		d.RetainEvery = time.Minute
	}
	return &Controller{
		d: d, log: d.Logger, loops: map[int64]chan struct{}{}, effects: map[string]bool{},
		put: map[int64]int{}, specs: map[revKey]RevisionSpec{}, tests: map[int64]string{}, sampled: map[int64]sampleState{},
		routed: map[string]int64{}, releases: map[string]*release{}, registered: map[string]time.Time{},
		seen: map[int64]deploy.ServiceState{},
	}
}

func (c *Controller) now() time.Time { return c.d.Clock().UTC() }

// Run adopts what a previous server left running, starts a loop for every
// service in the store and serves until ctx is done. It returns once every
// loop and effect has stopped; tasks keep running.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.adopt(ctx); err != nil {
		return unlessStopped(ctx, err)
	}
	svcs, err := c.d.Store.ListServices(ctx, store.ServiceFilter{})
	if err != nil {
		return unlessStopped(ctx, err)
	}
	loops, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.ctx, c.cancel = loops, cancel
	c.mu.Unlock()
	if w, ok := c.d.Router.(HealthWatcher); ok {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			watchHealth(loops, w, c.notifyRouted)
		}()
	}
	for _, s := range svcs {
		c.Notify(s.ID)
	}
	<-ctx.Done()
	c.wg.Wait()
	c.mu.Lock()
	c.ctx, c.cancel = nil, nil
	c.loops = map[int64]chan struct{}{}
	c.mu.Unlock()
	return nil
}

// Notify wakes the loop of a service now, starting it if the service is new.
// Before Run it does nothing: Run starts a loop for every service.
func (c *Controller) Notify(serviceID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || c.ctx.Err() != nil {
		return
	}
	wake, ok := c.loops[serviceID]
	if !ok {
		wake = make(chan struct{}, 1)
		c.loops[serviceID] = wake
		ctx := c.ctx
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.loop(ctx, serviceID, wake)
		}()
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// spawn runs effect for task id in its own goroutine unless one is already
// under way for it, then wakes the service's loop (0: none).
func (c *Controller) spawn(ctx context.Context, serviceID int64, id string, effect func(context.Context)) (started bool) {
	return c.spawnSettling(ctx, serviceID, id, func(ctx context.Context) bool { effect(ctx); return false })
}

// spawnSettling is spawn for an effect that reports whether it settled: it
// did what the pass asked and left nothing for the loop to decide. A task
// launched and registered is one: its next change comes from the router's
// health checks, which wake the loop themselves (and the busy poll catches
// an exit). A settled effect wakes the loop only if a pass was refused
// another effect for id meanwhile. Each pass reads every task of the
// service; a wake-up that cannot change a decision is a pass for nothing.
func (c *Controller) spawnSettling(ctx context.Context, serviceID int64, id string, effect func(context.Context) (settled bool)) (started bool) {
	c.mu.Lock()
	if _, busy := c.effects[id]; busy {
		c.effects[id] = true
		c.mu.Unlock()
		return false
	}
	c.effects[id] = false
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		settled := effect(ctx)
		c.mu.Lock()
		refused := c.effects[id]
		delete(c.effects, id)
		c.mu.Unlock()
		if serviceID != 0 && (!settled || refused) {
			c.Notify(serviceID)
		}
	}()
	return true
}

// unlessStopped is err, or nil once ctx has ended: a controller asked to
// stop while it was still starting up (a server that got SIGTERM right
// after it began) has stopped, not failed.
func unlessStopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
