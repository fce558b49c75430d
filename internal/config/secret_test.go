package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSecret(t *testing.T, home, name, value string, mode os.FileMode) {
	t.Helper()
	dir := filepath.Join(home, "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(value), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask must not weaken the test
		t.Fatal(err)
	}
}

func TestSecretSources(t *testing.T) {
	home := t.TempDir()
	writeSecret(t, home, "DB", "pg://u:hunter2@db\n", 0o600)
	writeSecret(t, home, "OPEN", "visible", 0o644)
	opts := Options{Home: home, LookupEnv: envOf(map[string]string{"DB": "from-env", "ENVONLY": "e-1"})}

	got, err := valueOf(t, t.TempDir(), `{{ secret "DB" }}`, opts)
	if err != nil || got != "pg://u:hunter2@db" {
		t.Errorf("file secret: %q, %v (file wins over env, trailing newline dropped)", got, err)
	}
	got, err = valueOf(t, t.TempDir(), `{{ secret "ENVONLY" }}`, opts)
	if err != nil || got != "e-1" {
		t.Errorf("env secret: %q, %v", got, err)
	}
	_, err = valueOf(t, t.TempDir(), `{{ secret "OPEN" }}`, opts)
	if err == nil || !strings.Contains(err.Error(), "is readable by group or others (mode 0644); run chmod 600") {
		t.Errorf("group-readable secret file: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "visible") {
		t.Errorf("error shows the refused secret's value: %v", err)
	}
}

func TestSecretsMaskedEverywhere(t *testing.T) {
	const secret = `s3cr"et\pw`
	env := envOf(map[string]string{"PW": secret, "NK": "notify-key-1"})
	text := base + `    env:
      DB: 'postgres://app:{{ secret "PW" }}@db/shop'
      JSON: '{"pw": "{{ secret "PW" | json_escape }}"}'
notifications: [{url: 'https://hooks.example/x', secret: '{{ secret "NK" }}'}]
`
	d, err := Parse("ferry.yaml", []byte(text), Options{LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if d.Services["web"].Env["DB"] != "postgres://app:"+secret+"@db/shop" {
		t.Errorf("the definition must hold the real value, got %q", d.Services["web"].Env["DB"])
	}
	for name, render := range map[string]func() ([]byte, error){"yaml": d.RenderYAML, "json": d.RenderJSON} {
		out, err := render()
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		if strings.Contains(s, "s3cr") || strings.Contains(s, "notify-key-1") {
			t.Errorf("%s render leaks a secret:\n%s", name, s)
		}
		if !strings.Contains(s, "postgres://app:***@db/shop") {
			t.Errorf("%s render does not show the masked value:\n%s", name, s)
		}
	}
	if got := d.Mask("dsn=" + secret + " key=notify-key-1"); got != "dsn=*** key=***" {
		t.Errorf("Mask = %q", got)
	}
	// The values themselves, once each, not the escaped spellings.
	if got := d.SecretValues(); strings.Join(got, "|") != "notify-key-1|"+secret {
		t.Errorf("SecretValues = %q", got)
	}

	// A secret used where a typed value is expected ends in an error: masked.
	bad := base + "    count: '{{ secret \"PW\" }}'\n    drain_timeout: '{{ secret \"NK\" }}'\n"
	_, err = Parse("ferry.yaml", []byte(bad), Options{LookupEnv: env})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cr") || strings.Contains(msg, "notify-key-1") {
		t.Errorf("error leaks a secret:\n%s", msg)
	}
	if !strings.Contains(msg, `expected an integer, got "***"`) || !strings.Contains(msg, `invalid duration "***"`) {
		t.Errorf("error does not name the masked values:\n%s", msg)
	}
}

func TestMaskerVariants(t *testing.T) {
	m := &masker{}
	m.add("")
	m.add("a\"b")
	m.add("longer-a\"b")
	cases := map[string]string{
		`x a"b y`:        "x *** y",
		`x "a\"b" y`:     `x "***" y`,
		`x longer-a"b y`: "x *** y",
		"nothing secret": "nothing secret",
	}
	for in, want := range cases {
		if got := m.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	var none *masker
	if none.Mask("abc") != "abc" {
		t.Error("nil masker must mask nothing")
	}
}
