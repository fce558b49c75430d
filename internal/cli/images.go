package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ferrycd/ferry/internal/api"
	"github.com/ferrycd/ferry/internal/artifact"
	"github.com/ferrycd/ferry/internal/config"
	"github.com/ferrycd/ferry/internal/home"
	"github.com/ferrycd/ferry/internal/runtime/docker"
)

// buildImages returns the definition's services as a deploy sends them: a
// docker service built from a Dockerfile gets its image built here, with
// the engine's cache; one that references an image must find it on the
// engine. Either carries the image's digest as its ref, so its revision
// runs exactly that image, a rollback included.
func buildImages(ctx context.Context, w io.Writer, h home.Dir, dir string, def *config.Definition, artifactDigest string) (map[string]config.Service, error) {
	out := map[string]config.Service{}
	var drv *docker.Driver
	for name, s := range def.Services {
		svc := *s
		if svc.Runtime != config.RuntimeDocker || svc.Image == nil {
			out[name] = svc
			continue
		}
		if drv == nil {
			drv = &docker.Driver{Instance: docker.InstanceFor(h.Root())}
			defer drv.Close()
		}
		im := *svc.Image
		var err error
		if im.Ref != "" {
			im.Ref, err = drv.ResolveImage(ctx, im.Ref)
		} else {
			im.Ref, err = buildImage(ctx, drv, h, dir, def, im, artifactDigest)
			if err == nil {
				fmt.Fprintf(w, "%s: built image %s\n", name, im.Ref)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("services.%s.image: %w", name, err)
		}
		svc.Image = &im
		out[name] = svc
	}
	return out, nil
}

// buildImage builds im, with the output of ferry's build (the artifact) in
// place at build.output in the context, as if built in the working tree.
func buildImage(ctx context.Context, drv *docker.Driver, h home.Dir, dir string, def *config.Definition, im config.Image, artifactDigest string) (string, error) {
	spec := docker.BuildSpec{Context: filepath.Join(dir, im.Context), Dockerfile: im.Dockerfile}
	if def.Build.Output != "" && artifactDigest != "" {
		out, err := artifact.Store{Home: h}.Unpack(ctx, artifactDigest)
		if err != nil {
			return "", err
		}
		// build.output is relative to the repository; the context may be a
		// directory of it.
		at, err := filepath.Rel(spec.Context, filepath.Join(dir, def.Build.Output))
		if err == nil && at != "." && !strings.HasPrefix(at, "..") {
			spec.Overlay = map[string]string{at: out}
		}
	}
	return drv.Build(ctx, spec)
}

// tagImages tags each image built for a new revision ferry/<app>-<service>:r<N>,
// for people reading `docker images`; the revision itself runs the digest.
func tagImages(ctx context.Context, w io.Writer, h home.Dir, app string, services map[string]config.Service, deps []api.DeploymentRef) {
	drv := &docker.Driver{Instance: docker.InstanceFor(h.Root())}
	defer drv.Close()
	for _, d := range deps {
		s, ok := services[d.Service]
		if !ok || s.Runtime != config.RuntimeDocker || s.Image == nil || s.Image.Dockerfile == "" {
			continue
		}
		if err := drv.TagImage(ctx, s.Image.Ref, docker.ImageTag(app, d.Service, d.To)); err != nil {
			fmt.Fprintf(w, "warning: %v\n", err)
		}
	}
}
