package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureHeader carries the body's HMAC-SHA256, GitHub's scheme.
const SignatureHeader = "X-Ferry-Signature-256"

// Sign returns the signature header value of body under secret:
// "sha256=" followed by the hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signatureHeader is body's signature under secret,
// comparing in constant time. An empty secret verifies nothing.
func Verify(secret string, body []byte, signatureHeader string) bool {
	if secret == "" {
		return false
	}
	got, ok := strings.CutPrefix(signatureHeader, "sha256=")
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(sum, m.Sum(nil))
}
