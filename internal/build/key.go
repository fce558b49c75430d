package build

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
)

// stepKey is the cache key of step s after the step whose key is prev, given
// the checkout's manifest just before s runs. Every field is length-prefixed
// so that no two different inputs hash the same byte stream.
func stepKey(prev string, s Step, m manifest) string {
	h := sha256.New()
	field := func(v string) { writeField(h, v) }
	field("ferry-build-step-v1")
	field(prev)
	field(s.Name)
	field(s.Run)
	// Counts before each list keep the lists apart.
	field(fmt.Sprint(len(s.Env)))
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		field(k)
		field(s.Env[k])
	}
	field(fmt.Sprint(len(s.Inputs)))
	for _, p := range s.Inputs {
		field(p)
	}
	var files []string
	for _, p := range slices.Sorted(maps.Keys(m)) {
		if !m[p].Mode.IsDir() && matchInputs(s.Inputs, p) {
			files = append(files, p)
		}
	}
	field(fmt.Sprint(len(files)))
	for _, p := range files {
		field(p)
		field(fmt.Sprint(uint32(m[p].Mode)))
		field(m[p].Sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, v string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(v)))
	h.Write(n[:])
	h.Write([]byte(v))
}
