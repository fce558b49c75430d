package deploy

import (
	"fmt"
	"strconv"
	"strings"
)

// TaskPrefix is what the ids of a service's tasks start with:
// "<app>.<env>.<service>", ServiceState.Service.
func TaskPrefix(app, env, service string) string { return app + "." + env + "." + service }

// TaskID names the seq-th task a service started, of revision rev:
// "<service>-r<rev>-<seq>", service being ServiceState.Service.
func TaskID(service string, rev, seq int) string {
	return fmt.Sprintf("%s-r%d-%d", service, rev, seq)
}

// ParseTaskID splits an id TaskID made, reading from the right so that a
// service name holding "-r" parses too.
func ParseTaskID(id string) (service string, rev int, ok bool) {
	rest, seq, found := cutLast(id, "-")
	if !found || !digits(seq) {
		return "", 0, false
	}
	service, r, found := cutLast(rest, "-r")
	if !found || service == "" || !digits(r) {
		return "", 0, false
	}
	rev, err := strconv.Atoi(r)
	if err != nil {
		return "", 0, false
	}
	return service, rev, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func digits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
