package config

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary text to the loader: it must never panic, every
// failure must be *Errors, and whatever loads must render to a definition
// that loads again to the same rendering.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(overlayDef))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{LookupEnv: envOf(map[string]string{"A": "a"})}
		d, err := Parse("ferry.yaml", data, opts)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("error is not *Errors with problems: %v", err)
			}
			return
		}
		out, err := d.RenderYAML()
		if err != nil {
			t.Fatalf("RenderYAML: %v", err)
		}
		again, err := Parse("rendered.yaml", out, opts)
		if err != nil {
			t.Fatalf("rendered definition does not load: %v\n%s", err, out)
		}
		out2, _ := again.RenderYAML()
		if string(out) != string(out2) {
			t.Fatalf("render is not a fixed point:\n%s\n---\n%s", out, out2)
		}
		if _, err := d.RenderJSON(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PreviewFor(PreviewTarget{Branch: "main", PR: 1}); err != nil {
			t.Fatalf("ForPreview of a valid definition: %v", err)
		}
	})
}
