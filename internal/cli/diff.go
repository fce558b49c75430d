package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/client"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
)

func init() { register(newDiffCmd) }

// Exit statuses of `ferry diff`, as diff(1)'s.
const (
	diffSame      = 0
	diffDifferent = 1
	diffTrouble   = 2
)

func newDiffCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare the local definition with what is live",
		Long: `Renders ferry.yaml for the environment (as ` + "`ferry deploy`" + ` would) and prints,
per service, a unified diff from the live revision's spec to the local one,
secrets masked (***). The count is compared with the service's current
count (a ` + "`ferry scale`" + ` shows up here). The artifact is not compared: it
is only known after a build.

Exit status, as diff(1): 0 when nothing differs, 1 when something does,
2 when the comparison failed.`,
		Example: `  ferry diff
  ferry diff --env staging
  ferry diff -o json`,
		Args: cobra.NoArgs,
	}
	t := addTargetFlags(cmd, g)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		diffs, err := specDiffs(cmd, t)
		if err != nil {
			return &ExitError{Code: diffTrouble, Err: err}
		}
		out := cmd.OutOrStdout()
		differs := false
		for _, d := range diffs {
			differs = differs || d.Diff != ""
		}
		if g.JSON() {
			if err := json.NewEncoder(out).Encode(diffs); err != nil {
				return err
			}
		} else {
			for _, d := range diffs {
				if d.Diff == "" {
					fmt.Fprintf(out, "%s: no changes\n", d.Service)
				} else {
					fmt.Fprint(out, d.Diff)
				}
			}
		}
		if differs {
			return &ExitError{Code: diffDifferent, Err: errors.New("the local definition differs from what is live")}
		}
		return nil
	}
	return cmd
}

// serviceDiff is one service's comparison; Diff is "" when nothing differs.
type serviceDiff struct {
	Service string `json:"service"`
	Live    int    `json:"live_revision"`
	Diff    string `json:"diff"`
}

func specDiffs(cmd *cobra.Command, t *target) ([]serviceDiff, error) {
	h, err := home.New(t.g.Home)
	if err != nil {
		return nil, err
	}
	def, err := t.load(h)
	if err != nil {
		return nil, err
	}
	c, err := client.New(h, client.Options{})
	if err != nil {
		return nil, err
	}
	ctx := ctxOf(cmd)
	var st api.Status
	if err := c.Do(ctx, "GET", api.StatusPath(def.App, t.Env), nil, &st); err != nil {
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 404 {
			return nil, err
		}
	}
	live := map[string]api.ServiceStatus{}
	for _, s := range st.Services {
		live[s.Name] = s
	}
	names := def.ServiceNames()
	for n := range live {
		if def.Services[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []serviceDiff
	for _, name := range names {
		local, remote := "", ""
		if s := def.Services[name]; s != nil {
			if local, err = localSpec(def, name, s); err != nil {
				return nil, err
			}
		}
		ls, ok := live[name]
		if ok && ls.LiveRevision > 0 {
			var rv api.Revision
			if err := c.Do(ctx, "GET", fmt.Sprintf("%s/revisions/%d", api.ServicePath(def.App, t.Env, name), ls.LiveRevision), nil, &rv); err != nil {
				return nil, err
			}
			if remote, err = liveSpec(rv.Spec, ls.Desired); err != nil {
				return nil, fmt.Errorf("%s r%d: %w", name, ls.LiveRevision, err)
			}
		}
		from := fmt.Sprintf("live/%s (r%d)", name, ls.LiveRevision)
		if remote == "" {
			from = fmt.Sprintf("live/%s (not deployed)", name)
		}
		to := fmt.Sprintf("local/%s (%s, env %s)", name, t.File, t.Env)
		if local == "" {
			to = fmt.Sprintf("local/%s (not in %s)", name, t.File)
		}
		out = append(out, serviceDiff{Service: name, Live: ls.LiveRevision, Diff: unifiedDiff(from, to, remote, local)})
	}
	return out, nil
}

// specText is the form both sides are compared in: the service spec as
// indented JSON (count apart, as the revision keeps it), then the count.
func specText(spec json.RawMessage, count int) (string, error) {
	var b bytes.Buffer
	if err := json.Indent(&b, spec, "", "  "); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\ncount: %d\n", count)
	return b.String(), nil
}

// localSpec is the service as the next deploy would record it, masked.
func localSpec(def *config.Definition, name string, s *config.Service) (string, error) {
	c := *s
	c.Name, c.Count = name, 0
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	txt, err := specText(raw, s.Count)
	return def.Mask(txt), err
}

// liveSpec is the service spec of a live revision's (masked) document.
func liveSpec(doc json.RawMessage, count int) (string, error) {
	var rv struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(doc, &rv); err != nil || len(rv.Spec) == 0 {
		return "", fmt.Errorf("the server's revision document has no spec")
	}
	return specText(rv.Spec, count)
}

// unifiedDiff returns a unified diff (3 lines of context) turning a into
// b, or "" when they are equal.
func unifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	x, y := lines(a), lines(b)
	ops := editScript(x, y)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		writeHunk(&out, ops[start:end])
		i = end
	}
	return out.String()
}

// lines splits s into lines that each end in a newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		return l[:len(l)-1]
	}
	l[len(l)-1] += "\n"
	return l
}

type editOp struct {
	kind       byte // ' ', '-', '+'
	line       string
	aLine, bLn int // 1-based positions before this op in a and b
}

// editScript is a shortest edit script by longest common subsequence.
func editScript(x, y []string) []editOp {
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []editOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, editOp{' ', x[i], i + 1, j + 1})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, editOp{'+', y[j], i + 1, j + 1})
			j++
		default:
			ops = append(ops, editOp{'-', x[i], i + 1, j + 1})
			i++
		}
	}
	return ops
}

func writeHunk(w io.Writer, ops []editOp) {
	aStart, bStart := ops[0].aLine, ops[0].bLn
	aLen, bLen := 0, 0
	for _, o := range ops {
		if o.kind != '+' {
			aLen++
		}
		if o.kind != '-' {
			bLen++
		}
	}
	if aLen == 0 {
		aStart--
	}
	if bLen == 0 {
		bStart--
	}
	fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
	for _, o := range ops {
		fmt.Fprintf(w, "%c%s", o.kind, o.line)
	}
}
