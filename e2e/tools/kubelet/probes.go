package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"
	probehttp "k8s.io/kubernetes/pkg/probe/http"
	probetcp "k8s.io/kubernetes/pkg/probe/tcp"
)

var (
	httpProber = probehttp.New(false)
	tcpProber  = probetcp.New()
)

// runProbe runs one probe of a container as the kubelet's prober does (pkg/kubelet/prober/prober.go): HTTP
// and TCP from the node to the pod's IP with Kubernetes' own probe code, exec inside the container.
func (w *podWorker) runProbe(ctx context.Context, p *v1.Probe, c *containerRuntime) (bool, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	switch {
	case p.HTTPGet != nil:
		req, err := probehttp.NewRequestForHTTPGetAction(p.HTTPGet, &c.spec, w.podIP, "probe")
		if err != nil {
			return false, err.Error()
		}
		result, out, err := httpProber.Probe(req, timeout)
		if err != nil {
			return false, err.Error()
		}
		return result == probe.Success || result == probe.Warning, out
	case p.TCPSocket != nil:
		port, err := probe.ResolveContainerPort(p.TCPSocket.Port, &c.spec)
		if err != nil {
			return false, err.Error()
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = w.podIP
		}
		result, out, err := tcpProber.Probe(host, port, timeout)
		if err != nil {
			return false, err.Error()
		}
		return result == probe.Success, out
	case p.Exec != nil:
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, code, err := w.execInContainer(ctx, c, p.Exec.Command, nil, nil)
		if err != nil {
			return false, err.Error()
		}
		return code == 0, string(out)
	}
	return false, "this kubelet runs HTTP, TCP and exec probes only"
}

// runHandler runs a lifecycle hook (preStop, postStart): exec in the container, or an HTTP GET to the pod.
func (w *podWorker) runHandler(ctx context.Context, h *v1.LifecycleHandler, c *containerRuntime) error {
	switch {
	case h.Exec != nil:
		out, code, err := w.execInContainer(ctx, c, h.Exec.Command, nil, nil)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("exec %v: exit %d: %s", h.Exec.Command, code, strings.TrimSpace(string(out)))
		}
		return nil
	case h.HTTPGet != nil:
		req, err := probehttp.NewRequestForHTTPGetAction(h.HTTPGet, &c.spec, w.podIP, "lifecycle")
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req.WithContext(ctx))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
		return nil
	}
	return fmt.Errorf("unsupported lifecycle handler")
}

// execCommand is how a command runs in a running container (kubectl exec, exec probes and hooks): in all
// its namespaces (network, UTS, IPC, mount, PID) and its root (nsenter --target on its process), in its working directory, as its user
// and groups (setpriv, from the container's own /usr), with its environment alone (env -i).
func (w *podWorker) execCommand(c *containerRuntime, command []string) ([]string, error) {
	pid := c.pid()
	if pid == 0 {
		return nil, fmt.Errorf("container %s is not running", c.spec.Name)
	}
	if len(command) == 0 {
		return nil, fmt.Errorf("no command")
	}
	// --pid: nsenter forks the command into the container's PID namespace, where its /proc is (and PID 1 is
	// the container's process, as `kill 1` in a container expects).
	args := []string{"nsenter", "--target", strconv.Itoa(pid), "--mount", "--net", "--uts", "--ipc", "--pid", "--root", "--wd", "--",
		"/usr/bin/setpriv", "--reuid", strconv.FormatInt(c.uid, 10), "--regid", strconv.FormatInt(c.gid, 10)}
	if len(c.groups) == 0 {
		args = append(args, "--clear-groups")
	} else {
		var gs []string
		for _, g := range c.groups {
			gs = append(gs, strconv.FormatInt(g, 10))
		}
		args = append(args, "--groups", strings.Join(gs, ","))
	}
	args = append(args, "--", "/usr/bin/env", "-i")
	args = append(args, c.env...)
	return append(args, command...), nil
}

func (w *podWorker) execInContainer(ctx context.Context, c *containerRuntime, command []string, stdin io.Reader, extraOut io.Writer) ([]byte, int, error) {
	args, err := w.execCommand(c, command)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = stdin
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return []byte(out.String()), exitErr.ExitCode(), nil
	}
	return []byte(out.String()), 0, err
}
