// Package artifact owns the content-addressed artifact store under
// $FERRY_HOME: deterministic archives of a build's output named by their
// sha256 digest, their verification, their unpacking into read-only release
// directories that tasks run in, and retention. It also provides the safe,
// deterministic archive format (Pack, Extract) the build cache reuses.
//
// It never decides which artifacts matter: callers (the control plane) say
// which digests to keep. It touches nothing outside ArtifactsDir and
// ReleasesDir except the directories it is explicitly handed.
package artifact
