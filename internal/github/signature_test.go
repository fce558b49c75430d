package github

import (
	"errors"
	"testing"
)

func TestVerify(t *testing.T) {
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	// GitHub's documented example of this secret and body.
	const documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign(secret, body); got != documented {
		t.Fatalf("Sign = %s, want GitHub's documented %s", got, documented)
	}
	cases := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"documented example", secret, body, documented, nil},
		{"no header", secret, body, "", ErrNoSignature},
		{"sha1 only", secret, body, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", ErrBadSignature},
		{"not hex", secret, body, "sha256=zz", ErrBadSignature},
		{"truncated", secret, body, documented[:40], ErrBadSignature},
		{"other secret", []byte("guess"), body, documented, ErrBadSignature},
		{"tampered body", secret, []byte("Hello, World?"), documented, ErrBadSignature},
		{"no secret configured", nil, body, documented, ErrNoSecret},
	}
	for _, tc := range cases {
		if err := Verify(tc.secret, tc.body, tc.header); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}
