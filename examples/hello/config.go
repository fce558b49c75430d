package main

import (
	"fmt"
	"strconv"
	"time"
)

// config is hello's behaviour, read from its environment. Every knob exists
// so that ferry's tests and demos can make a revision misbehave on purpose.
type config struct {
	Port        string
	Version     string
	Revision    string
	TaskID      string
	Unhealthy   bool          // HELLO_UNHEALTHY=1: /healthz answers 503
	StartDelay  time.Duration // HELLO_START_DELAY: sleep before listening
	FailPercent int           // HELLO_FAIL_PERCENT: that share of / answers 500
	Latency     time.Duration // HELLO_LATENCY: delay every / answer
	IgnoreTerm  time.Duration // HELLO_IGNORE_SIGTERM: keep serving this long after SIGTERM
	CrashAfter  time.Duration // HELLO_CRASH_AFTER: exit 1 after this long
}

// loadConfig reads the knobs through getenv; a malformed knob is an error
// naming the variable and its value, so a misconfigured revision fails loudly
// at start rather than behaving subtly wrong.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Port:      getenv("PORT"),
		Revision:  getenv("FERRY_REVISION"),
		TaskID:    getenv("FERRY_TASK_ID"),
		Unhealthy: getenv("HELLO_UNHEALTHY") == "1",
	}
	if c.Port == "" {
		c.Port = "8080"
	}
	if _, err := strconv.ParseUint(c.Port, 10, 16); err != nil {
		return config{}, fmt.Errorf("PORT=%q: not a port number", c.Port)
	}
	c.Version = getenv("HELLO_VERSION")
	if c.Version == "" {
		c.Version = c.Revision
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"HELLO_START_DELAY", &c.StartDelay},
		{"HELLO_LATENCY", &c.Latency},
		{"HELLO_IGNORE_SIGTERM", &c.IgnoreTerm},
		{"HELLO_CRASH_AFTER", &c.CrashAfter},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil || parsed < 0 {
			return config{}, fmt.Errorf("%s=%q: want a non-negative duration such as 500ms or 3s", d.name, v)
		}
		*d.dst = parsed
	}
	if v := getenv("HELLO_FAIL_PERCENT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 100 {
			return config{}, fmt.Errorf("HELLO_FAIL_PERCENT=%q: want an integer from 0 to 100", v)
		}
		c.FailPercent = p
	}
	return c, nil
}
