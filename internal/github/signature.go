package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// SignatureHeader is the header GitHub signs a delivery's body in.
const SignatureHeader = "X-Hub-Signature-256"

// Signature errors: each means the delivery must be refused unread.
var (
	ErrNoSignature  = errors.New("no " + SignatureHeader + " header")
	ErrBadSignature = errors.New(SignatureHeader + " does not match the body")
	ErrNoSecret     = errors.New("no webhook secret configured")
)

// Sign returns the X-Hub-Signature-256 value of body under secret:
// "sha256=" and the hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks header, the X-Hub-Signature-256 of a delivery, against the
// raw body, in constant time. An empty secret verifies nothing.
func Verify(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	if header == "" {
		return ErrNoSignature
	}
	// GitHub sends lower-case hex; any other spelling is not its signature.
	if !hmac.Equal([]byte(header), []byte(Sign(secret, body))) {
		return ErrBadSignature
	}
	return nil
}
