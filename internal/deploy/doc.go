// Package deploy is the deploy engine's decision logic: given one service's
// snapshot it decides what to do next. It owns the deployment state machine,
// the strategies (rolling, blue_green, canary, immutable), the circuit
// breaker, the progress deadline, metric analysis, when lifecycle hooks run,
// the operator's controls, the restart backoff and crash-loop detection. It
// is pure: it must not touch the store, the runtime, the router, the clock
// or the network; the server reads those into a ServiceState and executes
// the Plan.
//
// # The loop
//
// The server runs, per service, Nomad's split between deciding and doing:
//
//	for {
//		plan := deploy.Reconcile(snapshot())  // store + runtime + router, Now
//		record(plan)                          // one store transaction
//		perform(plan)                         // runtime and router calls
//		wait for a change, or until plan.Wake
//	}
//
// record writes every decision before anything is done: SetService,
// SetDeployment and SetLive rows, a pending row per StartTask, the draining
// state and reason per StopTask, deleted rows per ForgetTask, and events.
// perform then starts tasks, registers them with the router and stops them
// (deregister → drain → pre_stop → signal → SIGKILL). Effects are keyed by
// task id and idempotent: Reconcile restates the effects still owed by the
// records (StartTask for pending tasks, RegisterTask for started ones,
// StopTask for draining or stopping ones), so if the server dies between
// record and perform, the next snapshot yields the same effects and nothing
// is lost or done twice. Task ids come from ServiceStatus.Seq, so they are
// deterministic too. After a plan with actions the loop reconciles again at
// once; a plan with none is a fixed point.
//
// # Task state
//
// The snapshot's Task.State merges three sources: the store's intents
// (pending; draining with a stop reason), the runtime (process up: starting;
// exited: stopped if ferry stopped it, failed otherwise) and the router's
// health of a registered target (initial: running; healthy with HealthySince;
// unhealthy).
//
// # Deployments
//
// The server records a Deployment with a zero Status (pending). Reconcile
// supersedes older unfinished ones, begins it (From = the live revision;
// a restart takes a new Generation so tasks of the same revision are
// replaced), then moves capacity toward Status.Target under the strategy.
// Failures of the target's new tasks count toward the circuit breaker
// (0.5 × count, clamped to 3..200); the breaker or the progress deadline
// turn the deployment to rolling_back, a movement back to From that ends
// rolled_back, or failed if the rollback trips them too — then the tasks that
// run are left running and steady state takes over. Success records SetLive.
//
// Rolling (movement.go) shares the stable router group between old and new
// tasks. Blue/green, canary and immutable (shift.go) start the new revision
// in a group of its own ("r<N>") beside the stable set and move production
// traffic between the groups with SetWeights, one atomic change per step;
// SetRules points the test route at the new group. A rollback or an abort
// before the old set is stopped is a weight swap back, not a redeploy. The
// router's applied split comes back in ServiceState.Router, and Reconcile
// restates SetWeights and SetRules while it differs.
//
// # Analysis, hooks, controls
//
// The executor samples the group named by Status.Analysis.Group every
// interval (and runs the webhook checks) into ServiceState.Samples; Judge
// decides each new sample; failure_limit failures roll back and
// inconclusive_limit inconclusive checks in a row hold the deployment
// (paused) for a human. RunHook asks for launch, before_traffic and
// after_traffic runs; their results come back in ServiceState.Hooks.
// Operators write Deployment.Controls (promote, pause, resume, abort);
// Reconcile acts on each request once.
//
// # Steady state
//
// Without a deployment in flight Reconcile keeps Count tasks of the live
// revision, replaces failed and unhealthy ones after an exponential backoff
// (Backoff), reports a crash loop after CrashLoopAfter failures in a row, and
// stops tasks of other revisions once the live one has Count healthy.
//
// Progress (Summarize) is the read-only view for `ferry deploy` and
// `ferry status`.
package deploy
