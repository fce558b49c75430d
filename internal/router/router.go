package router

import (
	"fmt"
	"log/slog"
	"net/http/httputil"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrycd/ferry/internal/router/api"
)

// Router is the data plane: an http.Handler that proxies to targets, plus the
// admin operations that change its table. Admin operations are serialised;
// the proxy reads an immutable snapshot and never takes their lock.
type Router struct {
	opts  Options
	log   *slog.Logger
	proxy *httputil.ReverseProxy

	mu       sync.Mutex // admin changes
	services map[string]*service
	frozen   bool   // handing over to a successor: changes are refused
	gen      uint64 // numbers the table's snapshots, in rt.mu order
	file     stateFile
	// Group commit (commit.go): changes applied, not yet written; whether
	// a leader is writing; a health save put off until it is done.
	pending        []*pendingChange
	pendingTable   *table
	flushing       bool
	flushed        chan struct{} // closed when the current leader is done
	healthDeferred bool

	table atomic.Pointer[table]

	warm    warmup      // requests held for restored targets' first checks
	saver   healthSaver // writes the state file again on health changes
	changes changes     // targets' health transitions, for HealthChanges
}

// New builds a router and, when opts.StatePath names an existing file,
// restores its table. Restored targets start in "initial", are checked at
// once and take traffic only once a check passed; one that was healthy
// when the file was written needs one pass, not healthy_threshold
// (restore.go).
func New(opts Options) (*Router, error) {
	opts = opts.withDefaults()
	var st state
	if opts.StatePath != "" {
		var err error
		if st, err = loadState(opts.StatePath); err != nil {
			return nil, err
		}
	}
	return build(opts, st, nil, opts.StatePath)
}

// build makes a router serving st. With handedOver (a hand-over) every
// target starts in the health its predecessor saw; otherwise (a restart
// from the state file) all start in "initial" and those saved healthy are
// re-confirmed by their first check. from names st's origin in errors.
func build(opts Options, st state, handedOver map[string]api.TargetHealth, from string) (*Router, error) {
	rt := &Router{opts: opts, log: opts.Logger, services: map[string]*service{}}
	rt.proxy = rt.newProxy()
	rt.table.Store(&table{})
	var grace time.Duration
	for _, ss := range st.Services {
		cfg, hc, err := normalizeService(ss.Service)
		if err != nil {
			return nil, fmt.Errorf("router state %s: %w", from, err)
		}
		s := &service{cfg: cfg}
		s.health.Store(hc)
		for _, g := range ss.Groups {
			ng := &group{name: g.Name, weight: g.Weight}
			for _, t := range g.Targets {
				tg := rt.newTarget(t.Target)
				switch {
				case handedOver != nil:
					tg.state.Store(healthState(handedOver[healthKey(cfg.Name, g.Name, t.ID)]))
				case t.Health == api.TargetHealthy:
					tg.reconfirm.Store(true)
					grace = max(grace, hc.timeout)
				}
				ng.targets = append(ng.targets, tg)
			}
			s.groups = append(s.groups, ng)
		}
		rt.services[cfg.Name] = s
	}
	t, err := rt.buildTable()
	if err != nil {
		return nil, fmt.Errorf("router state %s: %w", from, err)
	}
	rt.table.Store(t)
	rt.warm.start(grace)
	// The saver first: the checks started below report to it.
	if opts.StatePath != "" {
		rt.saver.start(rt)
	}
	for _, s := range rt.services {
		for _, g := range s.groups {
			rt.startChecks(s, g.targets)
		}
	}
	return rt, nil
}

// Close stops every health check and closes upstream connections, after
// writing a health change not yet saved.
func (rt *Router) Close() {
	rt.saver.stop()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, s := range rt.services {
		for _, g := range s.groups {
			for _, t := range g.targets {
				t.stopChecks()
				t.pool.closeAll()
				t.transport.CloseIdleConnections()
			}
		}
	}
}

// newTarget makes a target, in "initial", with no check running yet.
func (rt *Router) newTarget(t api.Target) *target {
	tg := newTarget(t, rt.opts.ConnectTimeout)
	tg.listener = rt
	return tg
}

// startChecks starts the active checks of s's targets ts.
func (rt *Router) startChecks(s *service, ts []*target) {
	name := s.cfg.Name
	for _, t := range ts {
		t.changed = func() { rt.changes.note(name) }
		t.startChecks(s.health.Load)
	}
}

// healthState is the state a target handed over in health h starts in.
func healthState(h api.TargetHealth) int32 {
	switch h {
	case api.TargetHealthy:
		return stHealthy
	case api.TargetUnhealthy:
		return stUnhealthy
	}
	return stInitial
}

// buildTable builds the snapshot of rt.services, or a conflict error when
// two services claim the same route. Callers hold rt.mu.
func (rt *Router) buildTable() (*table, error) {
	var claims []claim
	names := make([]string, 0, len(rt.services))
	for n := range rt.services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		claims = append(claims, rt.services[n].view().claims()...)
	}
	t, err := buildTable(claims)
	if err != nil {
		return nil, errf(ErrConflict, "%v", err)
	}
	return t, nil
}

// PutService creates or updates a service's routes, health check, balancer,
// drain timeout, stickiness and rules. A route claimed by another service is
// a conflict and changes nothing.
func (rt *Router) PutService(in api.Service) error {
	cfg, hc, err := normalizeService(in)
	if err != nil {
		return errf(ErrInvalid, "%v", err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.mutable(); err != nil {
		return err
	}
	s, existed := rt.services[cfg.Name]
	if !existed {
		s = &service{cfg: cfg}
		s.health.Store(hc)
		rt.services[cfg.Name] = s
		return rt.commit(func() { delete(rt.services, cfg.Name) })
	}
	old := s.cfg
	s.cfg = cfg
	if err := rt.commit(func() { s.cfg = old }); err != nil {
		return err
	}
	s.health.Store(hc)
	return nil
}

// DeleteService removes a service and drains all its targets.
func (rt *Router) DeleteService(name string) (api.DrainResult, error) {
	rt.mu.Lock()
	if err := rt.mutable(); err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	s, ok := rt.services[name]
	if !ok {
		rt.mu.Unlock()
		return api.DrainResult{}, errf(ErrNotFound, "unknown service %q", name)
	}
	delete(rt.services, name)
	if err := rt.commit(func() { rt.services[name] = s }); err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	var ts []*target
	for _, g := range s.groups {
		ts = append(ts, g.targets...)
	}
	timeout := s.cfg.DrainTimeout
	rt.mu.Unlock()
	return drainAll(ts, timeout), nil
}

// mutable refuses changes during a hand-over: the successor already has the
// table. Callers hold rt.mu.
func (rt *Router) mutable() error {
	if rt.frozen {
		return errf(ErrHandingOver, "router is handing over to a new process; retry")
	}
	return nil
}

// lookupMut is lookup for a change.
func (rt *Router) lookupMut(service, grp string) (*service, *group, error) {
	if err := rt.mutable(); err != nil {
		return nil, nil, err
	}
	return rt.lookup(service, grp)
}

func (rt *Router) lookup(service, grp string) (*service, *group, error) {
	s, ok := rt.services[service]
	if !ok {
		return nil, nil, errf(ErrNotFound, "unknown service %q", service)
	}
	if grp == "" {
		return s, nil, nil
	}
	g := s.group(grp)
	if g == nil {
		return nil, nil, errf(ErrNotFound, "service %q has no group %q", service, grp)
	}
	return s, g, nil
}

// SetTargets replaces a group's targets, creating the group (weight 0) if
// needed. Targets that stay keep their health; new ones start "initial";
// removed ones are drained before it returns.
func (rt *Router) SetTargets(service, grp string, targets []api.Target) (api.DrainResult, error) {
	seen := map[string]bool{}
	for _, t := range targets {
		if err := checkTarget(t); err != nil {
			return api.DrainResult{}, errf(ErrInvalid, "%v", err)
		}
		if seen[t.ID] {
			return api.DrainResult{}, errf(ErrInvalid, "target %q listed twice", t.ID)
		}
		seen[t.ID] = true
	}
	if grp == "" {
		return api.DrainResult{}, errf(ErrInvalid, "group name is required")
	}
	rt.mu.Lock()
	s, _, err := rt.lookupMut(service, "")
	if err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	undo := rt.ensureGroup(s, grp)
	g := s.group(grp)
	next := make([]*target, 0, len(targets))
	var fresh []*target
	keep := map[*target]bool{}
	for _, t := range targets {
		if old := g.target(t.ID); old != nil && old.addr == t.Addr {
			next = append(next, old)
			keep[old] = true
			continue
		}
		tg := rt.newTarget(t)
		next = append(next, tg)
		fresh = append(fresh, tg)
	}
	var gone []*target
	for _, t := range g.targets {
		if !keep[t] {
			gone = append(gone, t)
		}
	}
	prev := g.targets
	g.targets = next
	if err := rt.commit(func() { g.targets = prev; undo() }); err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	rt.startChecks(s, rt.present(s, g, fresh))
	timeout := s.cfg.DrainTimeout
	rt.mu.Unlock()
	return drainAll(gone, timeout), nil
}

// ensureGroup creates s's group grp (weight 0) if it does not exist and
// returns what undoes that. Callers hold rt.mu.
func (rt *Router) ensureGroup(s *service, grp string) (undo func()) {
	if s.group(grp) != nil {
		return func() {}
	}
	prev := s.groups
	s.groups = append(s.groups[:len(s.groups):len(s.groups)], &group{name: grp})
	return func() { s.groups = prev }
}

// AddTarget adds one target to a group (created if needed); a target with
// the same id but another address replaces it, the old one drained.
func (rt *Router) AddTarget(service, grp string, t api.Target) error {
	if err := checkTarget(t); err != nil {
		return errf(ErrInvalid, "%v", err)
	}
	if grp == "" {
		return errf(ErrInvalid, "group name is required")
	}
	rt.mu.Lock()
	s, _, err := rt.lookupMut(service, "")
	if err != nil {
		rt.mu.Unlock()
		return err
	}
	undo := rt.ensureGroup(s, grp)
	g := s.group(grp)
	old := g.target(t.ID)
	if old != nil && old.addr == t.Addr {
		rt.mu.Unlock()
		return nil
	}
	next := make([]*target, 0, len(g.targets)+1)
	for _, x := range g.targets {
		if x != old {
			next = append(next, x)
		}
	}
	tg := rt.newTarget(t)
	prev := g.targets
	g.targets = append(next, tg)
	// Probing starts while the change is written: a new task's first
	// passing probe starts its healthy_threshold count, and the state
	// file's write, queued behind a batch's other changes, took 5-30 ms
	// under a rolling batch's load. Nothing routes to the target before the
	// table holding it is published, after the write.
	rt.startChecks(s, []*target{tg})
	if err := rt.commit(func() { g.targets = prev; undo() }); err != nil {
		tg.stopChecks()
		rt.mu.Unlock()
		return err
	}
	timeout := s.cfg.DrainTimeout
	rt.mu.Unlock()
	if old != nil {
		old.drain(timeout)
	}
	return nil
}

// RemoveTarget takes a target out of rotation at once and returns when it
// has drained.
func (rt *Router) RemoveTarget(service, grp, id string) (api.DrainResult, error) {
	if grp == "" {
		return api.DrainResult{}, errf(ErrInvalid, "group name is required")
	}
	rt.mu.Lock()
	s, g, err := rt.lookupMut(service, grp)
	if err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	t := g.target(id)
	if t == nil {
		rt.mu.Unlock()
		return api.DrainResult{}, errf(ErrNotFound, "service %q group %q has no target %q", service, grp, id)
	}
	prev := g.targets
	g.targets = slices.DeleteFunc(slices.Clone(prev), func(x *target) bool { return x == t })
	if err := rt.commit(func() { g.targets = prev }); err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	timeout := s.cfg.DrainTimeout
	rt.mu.Unlock()
	return t.drain(timeout), nil
}

// RemoveGroup removes a group and drains all its targets.
func (rt *Router) RemoveGroup(service, grp string) (api.DrainResult, error) {
	if grp == "" {
		return api.DrainResult{}, errf(ErrInvalid, "group name is required")
	}
	rt.mu.Lock()
	s, g, err := rt.lookupMut(service, grp)
	if err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	prev := s.groups
	s.groups = slices.DeleteFunc(slices.Clone(prev), func(x *group) bool { return x == g })
	if err := rt.commit(func() { s.groups = prev }); err != nil {
		rt.mu.Unlock()
		return api.DrainResult{}, err
	}
	timeout := s.cfg.DrainTimeout
	rt.mu.Unlock()
	return drainAll(g.targets, timeout), nil
}

// SetWeights sets the weights of the named groups in one step; groups not
// named keep theirs.
func (rt *Router) SetWeights(service string, weights map[string]int) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s, _, err := rt.lookupMut(service, "")
	if err != nil {
		return err
	}
	for name, w := range weights {
		if s.group(name) == nil {
			return errf(ErrNotFound, "service %q has no group %q", service, name)
		}
		if w < 0 || w > 100 {
			return errf(ErrInvalid, "weight of group %q: %d is not in 0-100", name, w)
		}
	}
	prev := make(map[*group]int, len(weights))
	for name, w := range weights {
		g := s.group(name)
		prev[g] = g.weight
		g.weight = w
	}
	return rt.commit(func() {
		for g, w := range prev {
			g.weight = w
		}
	})
}

// Service reports one service.
func (rt *Router) Service(name string) (api.ServiceStatus, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s, _, err := rt.lookup(name, "")
	if err != nil {
		return api.ServiceStatus{}, err
	}
	return s.status(), nil
}

// Services reports every service, by name.
func (rt *Router) Services() []api.ServiceStatus {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]api.ServiceStatus, 0, len(rt.services))
	for _, s := range rt.services {
		out = append(out, s.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *service) status() api.ServiceStatus {
	st := api.ServiceStatus{Service: s.cfg, Groups: []api.GroupStatus{}}
	for _, g := range s.groups {
		gs := api.GroupStatus{Name: g.name, Weight: g.weight, Targets: []api.TargetStatus{}}
		gs.FailOpen = (&groupView{targets: g.targets}).failOpen()
		for _, t := range g.targets {
			gs.Targets = append(gs.Targets, t.status())
		}
		st.Groups = append(st.Groups, gs)
	}
	return st
}

// Metrics reports a service's (grp "") or a group's figures over window.
func (rt *Router) Metrics(service, grp string, window time.Duration) (api.Metrics, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s, g, err := rt.lookup(service, grp)
	if err != nil {
		return api.Metrics{}, err
	}
	now := time.Now()
	if g != nil {
		m := g.metrics.window(now, window)
		m.FailOpen = (&groupView{targets: g.targets}).failOpen()
		return m, nil
	}
	m := s.metrics.window(now, window)
	for _, g := range s.groups {
		m.FailOpen = m.FailOpen || (&groupView{targets: g.targets}).failOpen()
	}
	return m, nil
}

// ResetMetrics starts the window of a group (or of the service and all its
// groups, grp "") afresh.
func (rt *Router) ResetMetrics(service, grp string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s, g, err := rt.lookup(service, grp)
	if err != nil {
		return err
	}
	if g != nil {
		g.metrics.reset()
		return nil
	}
	s.metrics.reset()
	for _, g := range s.groups {
		g.metrics.reset()
	}
	return nil
}

// drainAll drains targets concurrently and sums the results.
func drainAll(ts []*target, timeout time.Duration) api.DrainResult {
	res := make([]api.DrainResult, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = t.drain(timeout)
		}()
	}
	wg.Wait()
	var sum api.DrainResult
	for _, r := range res {
		sum = addDrain(sum, r)
	}
	return sum
}
