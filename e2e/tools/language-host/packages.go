// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: which resource plugins a program needs.
//
// As Pulumi's host does (main.go GetRequiredPackages / getPackagesFromDir at v3.248.0): walk the program
// directory, following symbolic links but visiting each real directory once and skipping policy packs,
// and read every package.json that lies under a node_modules directory. A package whose "pulumi" field
// says {"resource": true} needs the plugin it names: "pulumi.name", or for an @pulumi/<x> package <x>;
// version "pulumi.version" or else the package's version, with a leading "v"; server "pulumi.server".
// The dynamic provider plugin (pulumi-nodejs) is not among them: the engine starts it when a dynamic
// resource is registered. The versions of @pulumi/pulumi found on the way are checked for compatibility.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type discovery struct {
	packages    []*pulumirpc.PackageDependency
	sdkVersions map[string]semver.Version // package.json path of each @pulumi/pulumi copy -> its version
	errs        []error                   // files that could not be read or understood
	visited     map[string]bool
}

// packageJSON is the part of a package.json that plugin discovery reads.
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

func discoverPackages(programDir string) *discovery {
	d := &discovery{sdkVersions: map[string]semver.Version{}, visited: map[string]bool{}}
	d.walk(programDir, false)
	return d
}

func (d *discovery) walk(dir string, inNodeModules bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("getting full path for plugin dir %s: %w", dir, err))
		return
	}
	if d.visited[abs] {
		return
	}
	d.visited[abs] = true

	entries, err := os.ReadDir(abs)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("reading plugin dir %s: %w", abs, err))
		return
	}
	below := inNodeModules || filepath.Base(abs) == "node_modules"
	for _, entry := range entries {
		path := filepath.Join(abs, entry.Name())
		isDir := entry.IsDir()
		if entry.Type()&os.ModeSymlink != 0 {
			// Follow the link, and remember where it leads so that a cycle ends.
			target, err := filepath.EvalSymlinks(path)
			if err != nil {
				d.errs = append(d.errs, fmt.Errorf("resolving link in plugin dir %s: %w", path, err))
				continue
			}
			fi, err := os.Stat(target)
			if err != nil {
				d.errs = append(d.errs, err)
				continue
			}
			path, isDir = target, fi.IsDir()
		}
		switch {
		case isDir:
			// A policy pack's own dependencies are not the program's.
			if pack, err := workspace.DetectPolicyPackPathAt(path); err != nil {
				d.errs = append(d.errs, err)
				continue
			} else if pack != "" {
				continue
			}
			d.walk(path, below)
		case inNodeModules && entry.Name() == "package.json":
			d.readPackageJSON(path)
		}
	}
}

func (d *discovery) readPackageJSON(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("reading package.json %s: %w", path, err))
		return
	}
	var info packageJSON
	if err := json.Unmarshal(b, &info); err != nil {
		d.errs = append(d.errs, fmt.Errorf("unmarshaling package.json %s: %w", path, err))
		return
	}
	if info.Name == "@pulumi/pulumi" {
		v, err := semver.Parse(info.Version)
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("could not understand version %s in '%s': %w", info.Version, path, err))
			return
		}
		d.sdkVersions[path] = v
	}
	dep, err := pluginOf(info)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("package.json %s: %w", path, err))
		return
	}
	if dep != nil {
		d.packages = append(d.packages, dep)
	}
}

// pluginOf returns the resource plugin a package declares, or nil when it declares none.
func pluginOf(info packageJSON) (*pulumirpc.PackageDependency, error) {
	if !info.Pulumi.Resource {
		return nil, nil
	}
	name := info.Pulumi.Name
	if name == "" {
		switch {
		case info.Name == "":
			return nil, errors.New(`missing expected "name" property`)
		case strings.HasPrefix(info.Name, "@pulumi/"):
			name = strings.TrimPrefix(info.Name, "@pulumi/")
		default:
			// Only Pulumi's own packages may leave the plugin name to their package name.
			return nil, fmt.Errorf(`missing property "name" for the third-party plugin '%v' `+
				`inside package.json under the "pulumi" section`, info.Name)
		}
	}
	version := info.Pulumi.Version
	if version == "" {
		version = info.Version
	}
	if version == "" {
		return nil, errors.New(`missing expected "version" property`)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{
		Name:    name,
		Kind:    "resource",
		Version: version,
		Server:  info.Pulumi.Server,
	}
	if p := info.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return dep, nil
}

// incompatibleSDKWarning is the warning Pulumi's host prints when the program loads copies of
// @pulumi/pulumi that cannot work together, or "" when they can.
func (d *discovery) incompatibleSDKWarning() string {
	paths := make([]string, 0, len(d.sdkVersions))
	for p := range d.sdkVersions {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i := 1; i < len(paths); i++ {
		a, b := d.sdkVersions[paths[0]], d.sdkVersions[paths[i]]
		if ok, why := sdkVersionsCompatible(a, b); !ok {
			return fmt.Sprintf("Found incompatible versions of @pulumi/pulumi. %s\n"+
				"  Version %s referenced at %s\n  Version %s referenced at %s\n", why, a, paths[0], b, paths[i])
		}
	}
	return ""
}

// sdkVersionsCompatible: from 3.0 on the major versions must match; 1.x and 2.x mix; two 0.x need the
// same minor; 0.17 mixes with 1.x.
func sdkVersionsCompatible(a, b semver.Version) (bool, string) {
	switch {
	case a.Major == 0 && b.Major == 0:
		if a.Minor != b.Minor {
			return false, "Differing major or minor versions are not supported."
		}
		return true, ""
	case a.Major > 2 || b.Major > 2:
		if a.Major != b.Major {
			return false, "Differing major versions are not supported."
		}
		return true, ""
	case a.Major >= 1 && b.Major >= 1:
		return true, ""
	case (a.Major == 1 && b.Major == 0 && b.Minor == 17) || (b.Major == 1 && a.Major == 0 && a.Minor == 17):
		return true, ""
	default:
		return false, "Differing major or minor versions are not supported."
	}
}
