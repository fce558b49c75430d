package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// BuildSpec is one image build.
type BuildSpec struct {
	Context    string // the build context directory
	Dockerfile string // relative to Context, inside it; "" is Dockerfile
	Tag        string // optional
	// Overlay puts directories of this machine at paths of the context
	// (ferry's build output at build.output), replacing what Context holds
	// there.
	Overlay map[string]string
}

// Build builds an image with the engine's BuildKit builder, falling back to
// the classic builder on engines without BuildKit, and returns its content
// digest (the image ID, "sha256:…"), which names exactly this image for as
// long as the engine keeps it. The engine's build cache makes an unchanged
// rebuild cheap and gives the same digest.
func (d *Driver) Build(ctx context.Context, b BuildSpec) (string, error) {
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	df := filepath.ToSlash(filepath.Clean(dockerfile))
	if filepath.IsAbs(dockerfile) || df == ".." || strings.HasPrefix(df, "../") {
		return "", fmt.Errorf("image.dockerfile %q: must be a path inside the build context %s", dockerfile, b.Context)
	}
	if fi, err := os.Stat(filepath.Join(b.Context, df)); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("image.dockerfile: %s not found in the build context %s", df, b.Context)
	}
	overlay := map[string]string{}
	for at, src := range b.Overlay {
		rel := filepath.ToSlash(filepath.Clean(at))
		if filepath.IsAbs(at) || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("build context overlay %q: must be a path inside the context", at)
		}
		overlay[rel] = src
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return "", err
	}
	digest, err := d.build(ctx, cli, b.Context, df, b.Tag, overlay, build.BuilderBuildKit)
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "buildkit not supported") {
		digest, err = d.build(ctx, cli, b.Context, df, b.Tag, overlay, build.BuilderV1)
	}
	if err != nil {
		return "", fmt.Errorf("building the image of %s: %w", filepath.Join(b.Context, df), err)
	}
	return digest, nil
}

func (d *Driver) build(ctx context.Context, cli *client.Client, dir, dockerfile, tag string, overlay map[string]string, v build.BuilderVersion) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, dir, dockerfile, overlay)) }()
	defer pr.Close()
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags: tags, Dockerfile: dockerfile, Remove: true, ForceRemove: true, Version: v,
		Labels: map[string]string{LabelInstance: d.instance()},
	})
	if err != nil {
		return "", d.engineErr(err)
	}
	defer res.Body.Close()
	return buildResult(res.Body)
}

// buildMessage is one line of the engine's build stream.
type buildMessage struct {
	ID          string          `json:"id"`
	Aux         json.RawMessage `json:"aux"`
	Error       string          `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// buildResult reads a build stream to its end: the built image's ID, or the
// build's error as the engine worded it.
func buildResult(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	id := ""
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading the build's output: %w", err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return "", errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return "", errors.New(m.Error)
		case len(m.Aux) > 0 && (m.ID == "" || m.ID == "moby.image.id"):
			// The classic builder's result has no id, BuildKit's is
			// moby.image.id; BuildKit's progress (moby.buildkit.trace) is
			// skipped.
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && strings.HasPrefix(aux.ID, "sha256:") {
				id = aux.ID
			}
		}
	}
	if id == "" {
		return "", errors.New("the engine reported no image ID")
	}
	return id, nil
}

// ImageExists reports whether the engine has the image ref (a tag, a
// digest, or an image ID) locally; ferry pulls nothing.
func (d *Driver) ImageExists(ctx context.Context, ref string) (bool, error) {
	if ref == "" {
		return false, errors.New("image ref: empty")
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return false, err
	}
	_, err = cli.ImageInspect(ctx, ref)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("image %s: %w", ref, d.engineErr(err))
	}
	return true, nil
}

// RemoveImages removes the images this installation built except those
// keep names (by ID or tag) and those younger than ImageGrace, and returns
// the IDs it removed. An image a container still uses stays: the engine
// refuses, and that is no error.
func (d *Driver) RemoveImages(ctx context.Context, keep []string) ([]string, error) {
	cli, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", LabelInstance+"="+d.instance())})
	if err != nil {
		return nil, d.engineErr(err)
	}
	grace := d.ImageGrace
	if grace == 0 {
		grace = DefaultImageGrace
	}
	var removed []string
	for _, im := range res.Items {
		if !removable(im.ID, im.RepoTags, kept) || time.Since(time.Unix(im.Created, 0)) < grace {
			continue
		}
		// Untag each name; the last one deletes the image. By ID alone the
		// engine refuses an image with several tags.
		refs := realTags(im.RepoTags)
		if len(refs) == 0 {
			refs = []string{im.ID}
		}
		gone := false
		for _, ref := range refs {
			out, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
			switch {
			case isConflict(err) || isNotFound(err):
				continue
			case err != nil:
				return removed, fmt.Errorf("removing image %s: %w", ref, d.engineErr(err))
			}
			for _, it := range out.Items {
				if it.Deleted == im.ID {
					gone = true
				}
			}
		}
		if gone {
			removed = append(removed, im.ID)
		}
	}
	return removed, nil
}

// realTags drops the "<none>:<none>" that older engines list for an
// untagged image: it is no reference the engine accepts.
func realTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if !strings.HasPrefix(t, "<none>") {
			out = append(out, t)
		}
	}
	return out
}

// removable is an image none of whose names is kept.
func removable(id string, tags []string, kept map[string]bool) bool {
	if kept[id] || kept[strings.TrimPrefix(id, "sha256:")] {
		return false
	}
	for _, t := range tags {
		if kept[t] {
			return false
		}
	}
	return true
}

// ImageTag is the tag ferry gives the image it builds for revision rev of a
// service: ferry/<app>-<service>:r<rev>.
func ImageTag(app, service string, rev int) string {
	return fmt.Sprintf("ferry/%s-%s:r%d", strings.ToLower(app), strings.ToLower(service), rev)
}

// TagImage gives the image id (a digest) the tag ref as well.
func (d *Driver) TagImage(ctx context.Context, id, ref string) error {
	cli, err := d.conn(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref}); err != nil {
		return fmt.Errorf("tagging image %s as %s: %w", id, ref, d.engineErr(err))
	}
	return nil
}

// ResolveImage returns the content digest (image ID) of the local image ref
// names, so that a revision runs that exact image whatever the tag names
// later. An image the engine lacks is an error: ferry pulls nothing.
func (d *Driver) ResolveImage(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", errors.New("image ref: empty")
	}
	cli, err := d.conn(ctx)
	if err != nil {
		return "", err
	}
	res, err := cli.ImageInspect(ctx, ref)
	if isNotFound(err) {
		return "", fmt.Errorf("image %s is not on the Docker engine (ferry pulls nothing: build or load it first)", ref)
	}
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, d.engineErr(err))
	}
	return res.ID, nil
}
