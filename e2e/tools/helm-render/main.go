// helm-render renders a chart folder with a JSON values file through Helm's own install action, client
// side only, and prints the manifest: what pulumi-kubernetes' helm.v4.Chart renders with the same library
// (helm.sh/helm/v3 v3.20.2, what pulumi-kubernetes provider/go.mod requires in mid-2026) before it registers each object.
//
//	helm-render -chart DIR -values FILE -release NAME -namespace NS -kube-version v1.35.4
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

func main() {
	chartDir := flag.String("chart", "", "chart folder")
	valuesFile := flag.String("values", "", "values, as JSON")
	release := flag.String("release", "", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.35.4", "the cluster's Kubernetes version, for .Capabilities")
	flag.Parse()

	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
	chart, err := loader.Load(*chartDir)
	if err != nil {
		fail(err)
	}
	values := map[string]interface{}{}
	if *valuesFile != "" {
		text, err := os.ReadFile(*valuesFile)
		if err != nil {
			fail(err)
		}
		if err := json.Unmarshal(text, &values); err != nil {
			fail(err)
		}
	}
	version, err := chartutil.ParseKubeVersion(*kubeVersion)
	if err != nil {
		fail(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.IncludeCRDs = true
	install.ReleaseName = *release
	install.Namespace = *namespace
	install.KubeVersion = version
	rendered, err := install.Run(chart, values)
	if err != nil {
		fail(err)
	}
	fmt.Print(rendered.Manifest)
}
