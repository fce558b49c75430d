// Package build owns builds: a clean checkout of one commit (a git worktree
// from a cached clone under BuildCacheDir/repos) or of the working tree as it
// is, the build steps run in order with `sh -c`, each cached as a layer, and
// the output directory packed into an artifact.
//
// # What a step's effect is
//
// A step's effect is the change it makes to the files of the checkout: the
// paths it created or changed (content, mode, type) and the paths it deleted,
// found by comparing a content manifest of the checkout before and after the
// step. That change is stored as a layer under BuildCacheDir/steps/<key>. On a
// cache hit the layer is applied instead of running the step, which leaves
// the checkout exactly as running it did. Anything a step does outside the
// checkout (a module cache in $HOME, a network call) is not part of its
// effect and is not replayed.
//
// # Cache keys
//
// A step's key is sha256 over the previous step's key, the step's name,
// command, sorted env, its input patterns and the path, mode and content hash
// of every file those patterns match in the checkout just before the step
// runs. A step with no inputs depends on every file of the checkout. So an
// unchanged layer is reused, and a change to one step's inputs rebuilds that
// step and every later one, and no earlier one.
//
// # Keeping the cache bounded
//
// PruneCache drops layers least recently used first (a cache hit is a use)
// once they take more than a budget, and any unused for a month; a build's
// step lock keeps the layer it is using.
//
// The package touches only its own directories under BuildCacheDir, the
// artifact store (through package artifact) and the repository it is given,
// which it only reads.
package build
