package notify

import "testing"

func TestSignMatchesGitHubVector(t *testing.T) {
	// The example from GitHub's "Validating webhook deliveries".
	got := Sign("It's a Secret to Everybody", []byte("Hello, World!"))
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"succeeded"}`)
	good := Sign("k1", body)
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
		header string
		want   bool
	}{
		{"valid", "k1", body, good, true},
		{"wrong secret", "k2", body, good, false},
		{"tampered body", "k1", []byte(`{"event":"failed"}`), good, false},
		{"forged hex", "k1", body, "sha256=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", false},
		{"truncated", "k1", body, good[:len(good)-2], false},
		{"no prefix", "k1", body, good[len("sha256="):], false},
		{"sha1 prefix", "k1", body, "sha1=" + good[len("sha256="):], false},
		{"not hex", "k1", body, "sha256=zz", false},
		{"empty header", "k1", body, "", false},
		{"empty secret verifies nothing", "", body, Sign("", body), false},
	} {
		if got := Verify(tc.secret, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}
