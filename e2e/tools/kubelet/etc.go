package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// writePodEtc writes the files every container of the pod sees at /etc/hosts, /etc/resolv.conf and
// /etc/hostname. hosts is the kubelet's managed file (pkg/kubelet/kubelet_pods.go managedHostsFileContent):
// the localhost lines, the pod's IP and name, then its hostAliases. resolv.conf is what the runtime writes
// for a ClusterFirst pod (pkg/kubelet/network/dns/dns.go GetPodDNS): the cluster DNS Service's IP, the
// namespace's search path and ndots:5; dnsPolicy Default and None, and dnsConfig, as written there.
func writePodEtc(dir string, pod *v1.Pod, podIP, clusterDNS, clusterDomain string) error {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	var hosts strings.Builder
	hosts.WriteString("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if pod.Spec.Subdomain != "" {
		fmt.Fprintf(&hosts, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, hostname, pod.Spec.Subdomain, pod.Namespace, clusterDomain, hostname)
	} else {
		fmt.Fprintf(&hosts, "%s\t%s\n", podIP, hostname)
	}
	if len(pod.Spec.HostAliases) > 0 {
		hosts.WriteString("\n# Entries added by HostAliases.\n")
		for _, alias := range pod.Spec.HostAliases {
			fmt.Fprintf(&hosts, "%s\t%s\n", alias.IP, strings.Join(alias.Hostnames, "\t"))
		}
	}
	resolv := resolvConf(pod, clusterDNS, clusterDomain)
	for name, content := range map[string]string{"hosts": hosts.String(), "resolv.conf": resolv, "hostname": hostname + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func resolvConf(pod *v1.Pod, clusterDNS, clusterDomain string) string {
	var servers, searches, options []string
	switch pod.Spec.DNSPolicy {
	case v1.DNSNone:
	case v1.DNSDefault:
		// The node's resolver: the tier's node has none to give.
	default: // ClusterFirst
		servers = []string{clusterDNS}
		searches = []string{pod.Namespace + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}
		options = []string{"ndots:5"}
	}
	if cfg := pod.Spec.DNSConfig; cfg != nil {
		servers = append(servers, cfg.Nameservers...)
		searches = append(searches, cfg.Searches...)
		for _, o := range cfg.Options {
			if o.Value != nil {
				options = append(options, o.Name+":"+*o.Value)
			} else {
				options = append(options, o.Name)
			}
		}
	}
	var b strings.Builder
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}
