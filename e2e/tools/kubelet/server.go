package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	certutil "k8s.io/client-go/util/cert"
	streamremote "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// apiServer is the part of the kubelet's API the API server calls for `kubectl exec` and `kubectl logs`
// (pkg/kubelet/server/server.go routes at v1.35.4): /exec/{namespace}/{pod}[/{uid}]/{container} through
// Kubernetes' own streaming server (SPDY, which the API server speaks to kubelets, translating kubectl's
// WebSocket), and /containerLogs/{namespace}/{pod}/{container}. TLS with a self-signed certificate: the API
// server does not check a kubelet's certificate when --kubelet-certificate-authority is unset.
func (k *kubelet) apiServer(address string) (*http.Server, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(k.nodeName, []net.IP{net.ParseIP(host)}, nil)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/", k.handleExec)
	mux.HandleFunc("/containerLogs/", k.handleLogs)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return &http.Server{Addr: address, Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}, ReadHeaderTimeout: 30 * time.Second}, nil
}

func splitPath(path, prefix string) (namespace, pod, container string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, prefix), "/")
	switch len(parts) {
	case 3:
		return parts[0], parts[1], parts[2], true
	case 4:
		return parts[0], parts[1], parts[3], true
	}
	return "", "", "", false
}

func (k *kubelet) handleExec(w http.ResponseWriter, r *http.Request) {
	namespace, podName, container, ok := splitPath(r.URL.Path, "/exec/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	opts, err := streamremote.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	executor := &containerExecutor{k: k, namespace: namespace}
	streamremote.ServeExec(w, r, executor, podName, "", container, r.URL.Query()[v1.ExecCommandParam], opts,
		4*time.Hour, remotecommandconsts.DefaultStreamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

type containerExecutor struct {
	k         *kubelet
	namespace string
}

// ExecInContainer runs the command in the container (podWorker.execCommand). Its exit code goes back as
// the streaming server expects it (a k8s.io/utils/exec ExitError), so `kubectl exec` exits with it.
func (e *containerExecutor) ExecInContainer(ctx context.Context, podName string, _ types.UID, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	w := e.k.worker(e.namespace, podName)
	if w == nil {
		return fmt.Errorf("pod %s/%s is not running on this node", e.namespace, podName)
	}
	c := w.container(container)
	if c == nil {
		return fmt.Errorf("pod %s/%s has no container %s", e.namespace, podName, container)
	}
	args, err := w.execCommand(c, cmd)
	if err != nil {
		return err
	}
	log.Printf("pod %s/%s: exec in %s: %v", e.namespace, podName, container, cmd)
	run := exec.CommandContext(ctx, args[0], args[1:]...)
	if in != nil {
		run.Stdin = in
	}
	if out != nil {
		run.Stdout = out
	}
	if errOut != nil {
		run.Stderr = errOut
	} else if tty {
		run.Stderr = out // one stream with a terminal; this kubelet allocates no pty
	}
	err = run.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return &utilexec.ExitErrorWrapper{ExitError: exitErr}
	}
	return err
}

// handleLogs serves a container's log (stdout and stderr, as the process wrote them, across restarts).
func (k *kubelet) handleLogs(w http.ResponseWriter, r *http.Request) {
	namespace, podName, container, ok := splitPath(r.URL.Path, "/containerLogs/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	pw := k.worker(namespace, podName)
	if pw == nil || pw.container(container) == nil {
		http.Error(w, fmt.Sprintf("container %s of pod %s/%s is not on this node", container, namespace, podName), http.StatusNotFound)
		return
	}
	f, err := os.Open(filepath.Join(pw.dir, "logs", container+".log"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, f)
}
