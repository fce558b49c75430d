// Package hookbeat lets a running lifecycle hook (pre_stop) extend its own
// timeout: the runner creates a heartbeat file, names it to the hook in
// $FERRY_HOOK_HEARTBEAT, and each change of the file's mtime (`ferry hook
// heartbeat`, or a plain touch) moves the hook's deadline to one base timeout
// after the beat, never past a global maximum from the start.
//
// It knows files and clocks only: not the store, deployments or drivers.
package hookbeat
