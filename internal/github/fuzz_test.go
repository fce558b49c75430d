package github

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary deliveries to Parse: it must never panic, a
// failure must be a zero Event and an error naming the kind's payload, and
// a success must hold what internal/preview's dispatch relies on.
func FuzzParse(f *testing.F) {
	for kind, file := range map[string]string{KindPullRequest: "pull_request_opened.json", KindPush: "push.json"} {
		raw, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kind, raw)
		f.Add(kind, raw[:len(raw)/2])
		f.Add(KindPing, raw)
	}
	f.Add(KindPush, []byte(`{"ref":"refs/tags/v1","repository":{"full_name":"a/b"}}`))
	f.Add(KindPush, []byte(`{"ref":"refs/heads/x","deleted":true,"after":"","repository":{"full_name":"a/b"}}`))
	f.Add(KindPullRequest, []byte(`{"action":"closed","number":-1,"pull_request":{"head":{"ref":"x","sha":"0"}}}`))
	f.Add(KindPullRequest, []byte(`null`))
	f.Add("issues", []byte(`{`))
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		ev, err := Parse(kind, payload)
		if err != nil {
			if !strings.HasPrefix(err.Error(), kind+" payload: ") {
				t.Fatalf("error %q does not name the %s payload", err, kind)
			}
			if ev.Kind != "" || ev.Repo != "" || ev.Branch != "" || ev.PR != 0 || ev.SHA != "" || ev.Labels != nil {
				t.Fatalf("failed Parse returned a non-zero event %+v", ev)
			}
			return
		}
		if ev.Kind != kind {
			t.Fatalf("Kind = %q, want %q", ev.Kind, kind)
		}
		switch kind {
		case KindPullRequest:
			if ev.Action == "" || ev.PR <= 0 || ev.Branch == "" || !sha1Hex.MatchString(ev.SHA) || !ownerName(ev.Repo) {
				t.Fatalf("pull_request event breaks dispatch's invariants: %+v", ev)
			}
		case KindPush:
			if !ownerName(ev.Repo) {
				t.Fatalf("push event without owner/name: %+v", ev)
			}
			if ev.Branch != "" && !ev.Deleted && !sha1Hex.MatchString(ev.SHA) {
				t.Fatalf("push of a live branch without a commit sha: %+v", ev)
			}
		default:
			if ev.Repo != "" || ev.Branch != "" || ev.PR != 0 {
				t.Fatalf("%s event carries fields ferry does not act on: %+v", kind, ev)
			}
		}
	})
}

func ownerName(repo string) bool { return repo != "" && strings.Contains(repo, "/") }

// FuzzVerify checks that Verify accepts the signature Sign makes and
// nothing else: no changed body, no changed header, no other secret.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("It's a Secret to Everybody"), []byte("Hello, World!"), uint(7), byte(1), "")
	f.Add([]byte("s"), []byte{}, uint(0), byte(0x20), "sha256=")
	f.Add([]byte("s"), []byte(`{"zen":"x"}`), uint(40), byte(0x20), "SHA256=00")
	f.Add([]byte{0}, []byte{0xff, 0}, uint(3), byte(0x80), "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")
	f.Fuzz(func(t *testing.T, secret, body []byte, at uint, flip byte, other string) {
		sig := Sign(secret, body)
		if len(secret) == 0 {
			if err := Verify(secret, body, sig); err != ErrNoSecret {
				t.Fatalf("empty secret: Verify = %v, want ErrNoSecret", err)
			}
			return
		}
		if err := Verify(secret, body, sig); err != nil {
			t.Fatalf("Verify of Sign's own signature: %v", err)
		}
		if flip == 0 {
			flip = 1
		}
		if len(body) > 0 {
			changed := bytes.Clone(body)
			changed[at%uint(len(body))] ^= flip
			if Verify(secret, changed, sig) == nil {
				t.Fatalf("a changed body verified")
			}
		}
		if Verify(secret, append(bytes.Clone(body), flip), sig) == nil {
			t.Fatalf("a lengthened body verified")
		}
		header := []byte(sig)
		header[at%uint(len(header))] ^= flip
		if Verify(secret, body, string(header)) == nil {
			t.Fatalf("changed header %q verified", header)
		}
		if other != sig && Verify(secret, body, other) == nil {
			t.Fatalf("header %q verified; only %q should", other, sig)
		}
		if Verify(append(bytes.Clone(secret), flip), body, sig) == nil {
			t.Fatalf("another secret's signature verified")
		}
	})
}
