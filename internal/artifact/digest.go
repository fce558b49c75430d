package artifact

import (
	"encoding/hex"
	"fmt"
	"strings"
)

const digestPrefix = "sha256:"

// ParseDigest checks that d is "sha256:" followed by 64 lowercase hex digits
// and returns the hex part, which names the artifact's files on disk. Being
// strict here is what keeps a digest from smuggling a path into a file name.
func ParseDigest(d string) (string, error) {
	h, ok := strings.CutPrefix(d, digestPrefix)
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("artifact digest %q: want sha256:<64 lowercase hex digits>", d)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("artifact digest %q: want sha256:<64 lowercase hex digits>", d)
	}
	return h, nil
}

func formatDigest(sum []byte) string { return digestPrefix + hex.EncodeToString(sum) }
