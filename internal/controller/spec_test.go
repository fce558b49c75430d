package controller

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/store"
)

func TestSecretsIn(t *testing.T) {
	secrets := []string{"s3cr3t", "hunter2", `q"uote`, ""}
	tests := []struct {
		name string
		svc  config.Service
		ns   []config.Notification
		want []string
	}{
		{"none", config.Service{Command: []string{"./app"}, Env: map[string]string{"A": "plain"}}, nil, nil},
		{"whole env value", config.Service{Env: map[string]string{"PW": "s3cr3t"}}, nil, []string{"s3cr3t"}},
		{"inside a url", config.Service{Env: map[string]string{"DB": "postgres://u:s3cr3t@db/x"}}, nil, []string{"s3cr3t"}},
		{"two in one value", config.Service{Env: map[string]string{"X": "a=s3cr3t;b=hunter2;"}}, nil, []string{"hunter2", "s3cr3t"}},
		{"in a hook", config.Service{Hooks: config.Hooks{PreStop: &config.Hook{Command: []string{"flush", "--key=hunter2"}}}}, nil, []string{"hunter2"}},
		{"needing JSON escapes", config.Service{Command: []string{`--pw=q"uote`}}, nil, []string{`q"uote`}},
		{"notification secret, literal", config.Service{}, []config.Notification{{URL: "http://x", Secret: "lit"}, {URL: "http://y"}}, []string{"lit"}},
		{"notification secret also in env", config.Service{Env: map[string]string{"K": "hunter2"}},
			[]config.Notification{{URL: "http://x", Secret: "hunter2"}}, []string{"hunter2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secretsIn(tt.svc, secrets, tt.ns); !slices.Equal(got, tt.want) {
				t.Errorf("secretsIn = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaskedSpecHidesSecrets(t *testing.T) {
	r := RevisionSpec{App: "a", Service: "web", Spec: config.Service{Env: map[string]string{"DB": `pa"ss\word`, "X": "visible"}},
		Secrets: []string{`pa"ss\word`}}
	m, err := r.masked()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m), `pa\"ss`) || !strings.Contains(string(m), `"DB":"***"`) || !strings.Contains(string(m), "visible") || !json.Valid(m) {
		t.Fatalf("masked spec %s", m)
	}
	if got := newMasker(r.secretsFor()).mask(`error: DB=pa"ss\word`); got != "error: DB=***" {
		t.Errorf("mask = %q", got)
	}
}

func TestParamsFromSpec(t *testing.T) {
	var r RevisionSpec
	r.Spec.Deploy = config.Deploy{MaxSurge: config.CountOrPercent{Percent: 50, IsPercent: true},
		MaxUnavailable: config.CountOrPercent{N: 1}, CircuitBreaker: false}
	p := r.params()
	if p.MaxSurge != "50%" || p.MaxUnavailable != "1" || !p.DisableCircuitBreaker {
		t.Errorf("params = %+v", p)
	}
	if p := (RevisionSpec{}).params(); p.MaxSurge != "" || p.MaxUnavailable != "" {
		t.Errorf("zero spec: params %+v, want the engine's defaults", p)
	}
}

func TestRevisionsToKeep(t *testing.T) {
	revs := make([]store.Revision, 0, 9)
	for n := 9; n >= 1; n-- { // newest first
		revs = append(revs, store.Revision{Number: n, ArtifactDigest: "d" + string(rune('0'+n))})
	}
	tests := []struct {
		name           string
		keep           int
		live, rollback int
		inUse          map[int]bool
		want           []string
	}{
		{"newest only", 3, 9, 8, nil, []string{"d9", "d8", "d7"}},
		{"live and rollback outside the window", 2, 4, 2, nil, []string{"d9", "d8", "d4", "d2"}},
		{"in use", 1, 9, 0, map[int]bool{5: true}, []string{"d9", "d5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := revisionsToKeep(revs, keptRevisions(revs, tt.keep, tt.live, tt.rollback, tt.inUse))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
