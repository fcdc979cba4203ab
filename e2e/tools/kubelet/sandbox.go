package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// runSandbox is a pod's sandbox process, as a runtime's pause container: started in new network, UTS and
// IPC namespaces (the kubelet's Cloneflags), it names the pod's host and holds the namespaces until the
// kubelet stops it. Every container of the pod joins them (nsenter --target).
func runSandbox(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sandbox HOSTNAME")
	}
	if err := syscall.Sethostname([]byte(args[0])); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	return nil
}

// sandbox is a running pod network: the sandbox process and the node side of its veth.
type sandbox struct {
	cmd      *exec.Cmd
	pid      int
	hostLink string
	podIP    string
}

// startSandbox starts the pod's sandbox and wires its network: a veth whose pod end is eth0 with the pod
// IP (/32, default route on the link) and whose node end answers ARP for everything the node routes
// (proxy_arp), with a /32 route to the pod on the node. Every pod-to-pod, pod-to-Service and node-to-pod
// packet crosses the node's IP stack, where kube-proxy's rules are: no bridge, so no br_netfilter needed.
func startSandbox(self, hostname, linkName, podIP string, sysctls map[string]string, logFile *os.File) (*sandbox, error) {
	cmd := exec.Command(self, "sandbox", hostname)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	sb := &sandbox{cmd: cmd, pid: cmd.Process.Pid, hostLink: linkName, podIP: podIP}
	go func() { _ = cmd.Wait() }()
	pid := strconv.Itoa(sb.pid)
	inPod := func(args ...string) []string { return append([]string{"nsenter", "--target", pid, "--net", "--"}, args...) }
	steps := [][]string{
		{"ip", "link", "add", linkName, "type", "veth", "peer", "name", "eth0", "netns", pid},
		{"ip", "link", "set", linkName, "up"},
		{"sysctl", "-q", "-w", fmt.Sprintf("net.ipv4.conf.%s.proxy_arp=1", linkName)},
		{"ip", "route", "replace", podIP + "/32", "dev", linkName},
		inPod("ip", "link", "set", "lo", "up"),
		inPod("ip", "link", "set", "eth0", "up"),
		inPod("ip", "addr", "add", podIP + "/32", "dev", "eth0"),
		inPod("ip", "route", "add", "default", "dev", "eth0"),
	}
	for key, value := range sysctls {
		steps = append(steps, inPod("sysctl", "-q", "-w", key+"="+value))
	}
	for _, step := range steps {
		if out, err := run(step...); err != nil {
			sb.stop()
			return nil, fmt.Errorf("%v: %v: %s", step, err, out)
		}
	}
	return sb, nil
}

// stop ends the sandbox: its network namespace goes with its last process, and the veth with it.
func (sb *sandbox) stop() {
	if sb == nil || sb.cmd.Process == nil {
		return
	}
	_ = sb.cmd.Process.Signal(syscall.SIGKILL)
	// The node's route to the pod leaves with the link; wait for the link so that a new pod with the same
	// IP never meets it.
	for i := 0; i < 50; i++ {
		if _, err := run("ip", "link", "show", sb.hostLink); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = run("ip", "link", "del", sb.hostLink)
}

func run(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
