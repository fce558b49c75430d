package chaos

// strategy is one way a service moves between revisions: the deploy:
// mapping of its ferry.yaml. A strategy the tree supports is one entry here.
type strategy struct {
	name   string
	deploy string
}

var strategies = []strategy{
	{"rolling", ""},
	{"blue_green", "{strategy: blue_green}"},
	{"canary", "{strategy: canary, steps: [{weight: 30, pause: 1s}]}"},
	{"immutable", "{strategy: immutable}"},
}

// kind is a revision's behaviour: good, or broken on purpose through
// examples/hello's knobs. broken marks revisions whose own failures are
// expected; crashes marks revisions whose tasks die while serving.
type kind struct {
	name    string
	env     map[string]string
	broken  bool
	crashes bool
}

var kinds = []kind{
	{name: "good"},
	{name: "good"}, // twice: most deployments in real life are good ones
	{name: "unhealthy", env: map[string]string{"HELLO_UNHEALTHY": "1"}, broken: true},
	{name: "crashing", env: map[string]string{"HELLO_CRASH_AFTER": "1500ms"}, broken: true, crashes: true},
	{name: "failing 20%", env: map[string]string{"HELLO_FAIL_PERCENT": "20"}, broken: true},
	{name: "slow start", env: map[string]string{"HELLO_START_DELAY": "1s"}},
}
