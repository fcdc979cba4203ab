// tier-kubelet: the real tier's kubelet. Our own program, not Kubernetes' kubelet (which needs a container
// runtime the tier does not have), but it does a kubelet's job for the pods kwok schedules whose images the
// tier can run, as the pod spec says and with Kubernetes' own code where a kubelet decides something:
//   - each pod gets a network namespace of its own (a sandbox process, as a runtime's pause container) with
//     the IP kwok gave it on a veth to the node's namespace;
//   - its volumes (emptyDir, configMap, secret, projected with service account tokens, downwardAPI) are
//     written under the pod's folder and kept in sync as the kubelet's sync loop keeps them;
//   - each container runs as the image's entrypoint with the container's command, args and environment
//     (the downward API, $(VAR) expansion, Service variables), as the container's user, in a root of its own
//     (the host's /usr, the image's files, the pod's /etc/hosts and /etc/resolv.conf, its volume mounts);
//   - init containers first, native sidecars (restartPolicy Always) kept running, restarts with back-off;
//   - startup and readiness probes decide the pod's conditions, which it reports to the API server;
//   - on deletion, preStop hooks, SIGTERM, the grace period, SIGKILL, then the pod object is removed;
//   - `kubectl exec` and `kubectl logs` reach it on the node's address (the API server's kubelet port).
//
// Subcommands: serve (the kubelet), sandbox (a pod's namespace holder), container-init (sets up a
// container's root and execs its process).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tier-kubelet serve [flags] | sandbox HOSTNAME | container-init SPEC")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "sandbox":
		err = runSandbox(os.Args[2:])
	case "container-init":
		err = containerInit(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tier-kubelet %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
