package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountSpec is one mount of a container's root: a bind of a host path (a volume, an image file, the host's
// /usr), or a file system of its own (proc, sysfs, tmpfs).
type mountSpec struct {
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	Type     string `json:"type"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// The source is a file, so the mount point is one too.
	File bool `json:"file,omitempty"`
	Data string `json:"data,omitempty"`
}

// containerSpec is what container-init needs to start a container's process. The kubelet writes it; the
// process runs in the pod's network, UTS and IPC namespaces (nsenter --target <sandbox>) and a mount
// namespace of its own (the kubelet's Cloneflags).
type containerSpec struct {
	Root       string            `json:"root"`
	Mounts     []mountSpec       `json:"mounts"`
	Symlinks   map[string]string `json:"symlinks,omitempty"`
	WorkingDir string            `json:"workingDir"`
	UID        int64             `json:"uid"`
	GID        int64             `json:"gid"`
	Groups     []int64           `json:"groups,omitempty"`
	Argv       []string          `json:"argv"`
	Env        []string          `json:"env"`
}

// containerInit sets up the container's root in its own mount namespace, enters it and execs the
// container's process in its place, as the container's user: the process keeps this pid, so the kubelet's
// signals and wait reach it directly.
func containerInit(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: container-init SPEC")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var spec containerSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	// Nothing mounted here reaches the kubelet's mount namespace, or comes back from it.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	for _, m := range spec.Mounts {
		if err := mountOne(spec.Root, m); err != nil {
			return err
		}
	}
	for link, target := range spec.Symlinks {
		at, err := inRoot(spec.Root, link)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, at); err != nil && !os.IsExist(err) {
			return fmt.Errorf("symlink %s: %w", link, err)
		}
	}
	if err := unix.Chroot(spec.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", spec.Root, err)
	}
	workingDir := spec.WorkingDir
	if workingDir == "" {
		workingDir = "/"
	}
	if err := os.MkdirAll(workingDir, 0o755); err != nil {
		return fmt.Errorf("working dir %s: %w", workingDir, err)
	}
	if err := unix.Chdir(workingDir); err != nil {
		return fmt.Errorf("chdir %s: %w", workingDir, err)
	}
	groups := make([]int, 0, len(spec.Groups))
	for _, g := range spec.Groups {
		groups = append(groups, int(g))
	}
	// The Go runtime applies these to every thread of the process (Go 1.16 and newer).
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setgid(int(spec.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", spec.GID, err)
	}
	if err := unix.Setuid(int(spec.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", spec.UID, err)
	}
	if len(spec.Argv) == 0 {
		return fmt.Errorf("no command: the container sets none and its image has no entrypoint")
	}
	binary, err := lookPath(spec.Argv[0], spec.Env)
	if err != nil {
		return err
	}
	return unix.Exec(binary, spec.Argv, spec.Env)
}

func mountOne(root string, m mountSpec) error {
	target, err := inRoot(root, m.Target)
	if err != nil {
		return err
	}
	if m.File {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			f.Close()
		} else {
			return fmt.Errorf("mount point %s: %w", m.Target, err)
		}
	} else if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("mount point %s: %w", m.Target, err)
	}
	var flags uintptr
	switch m.Type {
	case "bind":
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("read-only %s: %w", m.Target, err)
			}
		}
		return nil
	case "proc":
		flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	case "sysfs":
		flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY
	case "tmpfs":
		flags = unix.MS_NOSUID
	default:
		return fmt.Errorf("mount %s: unknown type %q", m.Target, m.Type)
	}
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(m.Type, target, m.Type, flags, m.Data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.Target, err)
	}
	return nil
}

// inRoot is a container path under the container's root. The kubelet builds every root itself, with only
// relative symlinks (bin -> usr/bin), so a path that stays clean stays inside it.
func inRoot(root, p string) (string, error) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.Contains(p, "/../") {
		return "", fmt.Errorf("container path %q is not a clean absolute path", p)
	}
	return filepath.Join(root, p), nil
}

// lookPath finds the process's binary as a runtime does: a name with a slash as it is, else in the
// container's PATH (inside its root, where this runs).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	searchPath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			searchPath = strings.TrimPrefix(kv, "PATH=")
		}
	}
	for _, dir := range filepath.SplitList(searchPath) {
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in the container's PATH %s", name, searchPath)
}
