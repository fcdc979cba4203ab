package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// The host's /usr folders every container sees read-only: the tier has no images, so a container's
// programs (curl, sleep, iptables, the loader and libraries of Envoy) are the host's, beside the image's own
// files (imageSpec.Files: pilot-agent, envoy, the bookinfo stand-in...).
var hostUsr = []string{"bin", "sbin", "lib", "lib64", "libexec", "share"}

// Host files copied into each container's /etc: what name lookups and the libraries need. A container gets
// its own copy, as an image has its own /etc.
var hostEtc = []string{"passwd", "group", "nsswitch.conf", "host.conf", "ld.so.cache", "ld.so.conf", "protocols", "services", "localtime"}

// Trees under /etc the host's programs need: the CA store (symlinks into /usr/share) and Debian's
// alternatives (iptables, for one).
var hostEtcTrees = []string{"ssl", "alternatives", "ld.so.conf.d"}

// istio-proxy's user, which the proxyv2 image has (docker/Dockerfile.base: useradd istio-proxy -u 1337).
const proxyUserLine = "istio-proxy:x:1337:1337::/home/istio-proxy:/bin/sh\n"
const proxyGroupLine = "istio-proxy:x:1337:\n"

// prepareRoot makes a container's root folder: the top-level layout (bin, lib, ... as relative symlinks
// into usr, as on the merged-/usr host), its own /etc, and /tmp. The mounts come in container-init.
func prepareRoot(root string) error {
	for _, dir := range []string{"usr", "usr/local/bin", "etc", "proc", "sys", "dev", "tmp", "run", "var/run", "var/lib", "var/tmp", "root", "home"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return err
		}
	}
	for _, dir := range []string{"tmp", "var/tmp"} {
		if err := os.Chmod(filepath.Join(root, dir), 0o1777); err != nil {
			return err
		}
	}
	for _, link := range []string{"bin", "sbin", "lib", "lib64"} {
		if _, err := os.Stat("/usr/" + link); err != nil {
			continue
		}
		if err := os.Symlink("usr/"+link, filepath.Join(root, link)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	for _, name := range hostEtc {
		data, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil {
			continue
		}
		switch name {
		case "passwd":
			if !strings.Contains(string(data), ":1337:") {
				data = append(data, proxyUserLine...)
			}
		case "group":
			if !strings.Contains(string(data), ":1337:") {
				data = append(data, proxyGroupLine...)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "etc", name), data, 0o644); err != nil {
			return err
		}
	}
	for _, tree := range hostEtcTrees {
		if _, err := os.Stat(filepath.Join("/etc", tree)); err != nil {
			continue
		}
		if out, err := run("cp", "-a", filepath.Join("/etc", tree), filepath.Join(root, "etc", tree)); err != nil {
			return fmt.Errorf("copying /etc/%s: %v: %s", tree, err, out)
		}
	}
	return nil
}

// rootMounts is the list container-init mounts, in order: the host's /usr folders, the image's files,
// proc, sysfs, a /dev with the usual devices, the pod's /etc/hosts, /etc/resolv.conf and /etc/hostname
// (one copy per pod, as the runtime bind-mounts them), then the container's volume mounts.
func rootMounts(image imageSpec, podDir string, c *v1.Container, volumes map[string]v1.Volume) ([]mountSpec, map[string]string, error) {
	var mounts []mountSpec
	for _, dir := range hostUsr {
		if info, err := os.Lstat("/usr/" + dir); err == nil && info.IsDir() {
			mounts = append(mounts, mountSpec{Source: "/usr/" + dir, Target: "/usr/" + dir, Type: "bind", ReadOnly: true})
		}
	}
	for dst, src := range image.Files {
		mounts = append(mounts, mountSpec{Source: src, Target: dst, Type: "bind", ReadOnly: true, File: true})
	}
	mounts = append(mounts,
		mountSpec{Target: "/proc", Type: "proc"},
		mountSpec{Target: "/sys", Type: "sysfs", ReadOnly: true},
		mountSpec{Target: "/dev", Type: "tmpfs", Data: "mode=755,size=65536k"},
	)
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		mounts = append(mounts, mountSpec{Source: "/dev/" + dev, Target: "/dev/" + dev, Type: "bind", File: true})
	}
	mounts = append(mounts, mountSpec{Target: "/dev/shm", Type: "tmpfs", Data: "mode=1777,size=65536k"})
	for _, name := range []string{"hosts", "resolv.conf", "hostname"} {
		mounts = append(mounts, mountSpec{Source: filepath.Join(podDir, "etc", name), Target: "/etc/" + name, Type: "bind", File: true})
	}
	// Shallow mount points first, as runtimes order them, so a mount inside another volume lands on it.
	volumeMounts := append([]v1.VolumeMount{}, c.VolumeMounts...)
	sort.SliceStable(volumeMounts, func(i, j int) bool {
		return strings.Count(path.Clean(volumeMounts[i].MountPath), "/") < strings.Count(path.Clean(volumeMounts[j].MountPath), "/")
	})
	for _, vm := range volumeMounts {
		volume, ok := volumes[vm.Name]
		if !ok {
			return nil, nil, fmt.Errorf("volume mount %s: the pod has no such volume", vm.Name)
		}
		target := path.Clean(vm.MountPath)
		if !path.IsAbs(target) || target == "/" {
			return nil, nil, fmt.Errorf("volume mount %s: mountPath %q is not allowed", vm.Name, vm.MountPath)
		}
		source := filepath.Join(podDir, "volumes", volume.Name)
		file := false
		if vm.SubPath != "" {
			sub := filepath.Clean(vm.SubPath)
			if filepath.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, "../") {
				return nil, nil, fmt.Errorf("volume mount %s: subPath %q leaves the volume", vm.Name, vm.SubPath)
			}
			source = filepath.Join(source, sub)
			if info, err := os.Stat(source); err == nil && !info.IsDir() {
				file = true
			}
		}
		mounts = append(mounts, mountSpec{Source: source, Target: target, Type: "bind", ReadOnly: vm.ReadOnly, File: file})
	}
	links := map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}
	return mounts, links, nil
}
