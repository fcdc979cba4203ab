package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"

	v1 "k8s.io/api/core/v1"
)

// imageSpec is what the tier stands in for an image with: the parts of an image's config a runtime reads
// (entrypoint, cmd, env, working dir, user) and the files the image would hold, each from a file of the
// tier's tools. Everything else a container sees comes from the host's /usr (see rootfs.go).
type imageSpec struct {
	Entrypoint []string          `json:"entrypoint"`
	Cmd        []string          `json:"cmd"`
	Env        []string          `json:"env"`
	WorkingDir string            `json:"workingDir"`
	User       *int64            `json:"user"`
	Group      *int64            `json:"group"`
	Files      map[string]string `json:"files"`
	// What the image is and what stands in for it, for the logs.
	StandsFor string `json:"standsFor"`
}

type imageTable map[string]imageSpec

func loadImages(file string) (imageTable, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Images imageTable `json:"images"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for ref, image := range doc.Images {
		for dst, src := range image.Files {
			if !path.IsAbs(dst) || path.Clean(dst) != dst {
				return nil, fmt.Errorf("%s: image %s: file %q is not a clean absolute path", file, ref, dst)
			}
			if _, err := os.Stat(src); err != nil {
				return nil, fmt.Errorf("%s: image %s: %w", file, ref, err)
			}
		}
	}
	return doc.Images, nil
}

// runnable tells whether the tier runs this pod: every container's image is one it stands in for, and the
// pod has a network namespace of its own. The other pods are kwok's (e2e/harness/localCluster.ts writes
// kwok's stages from the same table).
func (t imageTable) runnable(pod *v1.Pod) bool {
	if pod.Spec.HostNetwork {
		return false
	}
	for _, c := range allContainers(pod) {
		if _, ok := t[c.Image]; !ok {
			return false
		}
	}
	return true
}

func (t imageTable) refs() []string {
	refs := make([]string, 0, len(t))
	for ref := range t {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	return refs
}

func allContainers(pod *v1.Pod) []v1.Container {
	return append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
}
