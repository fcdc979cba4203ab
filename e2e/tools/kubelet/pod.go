package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

type containerState int

const (
	stateWaiting containerState = iota
	stateRunning
	stateTerminated
)

// containerRuntime is one container of a pod: its spec, what it runs as, and its process across restarts.
type containerRuntime struct {
	spec    v1.Container
	image   imageSpec
	init    bool // one of the pod's initContainers
	sidecar bool // an init container with restartPolicy Always: a native sidecar
	uid     int64
	gid     int64
	groups  []int64

	mu            sync.Mutex
	env           []string
	cmd           *exec.Cmd
	state         containerState
	waitingReason string
	waitingMsg    string
	startedAt     time.Time
	finishedAt    time.Time
	exitCode      int
	reason        string
	restartCount  int32
	lastState     *v1.ContainerStateTerminated
	started       bool // running, and its startupProbe (if any) passed
	ready         bool
	stopping      bool
	exited        chan struct{}
}

func (c *containerRuntime) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateRunning || c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

func (c *containerRuntime) running() bool { return c.pid() != 0 }

// podWorker runs one pod from its first sight to its removal.
type podWorker struct {
	k       *kubelet
	uid     types.UID
	dir     string
	updates chan struct{}
	dirty   chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc

	mu          sync.Mutex
	pod         *v1.Pod
	gone        bool
	podIP       string
	sb          *sandbox
	vols        *volumeWriter
	containers  []*containerRuntime
	startTime   time.Time
	initialized bool
	startErr    string
	terminating bool
	done        chan struct{}
}

func newPodWorker(k *kubelet, pod *v1.Pod) *podWorker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &podWorker{
		k: k, uid: pod.UID, pod: pod, dir: filepath.Join(k.root, "pods", string(pod.UID)),
		updates: make(chan struct{}, 1), dirty: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	return w
}

func (w *podWorker) logf(format string, args ...any) {
	pod := w.current()
	log.Printf("pod %s/%s: %s", pod.Namespace, pod.Name, fmt.Sprintf(format, args...))
}

func (w *podWorker) current() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.wake()
}

// remove is the pod object gone from the API server (deleted with no grace, or finished by us).
func (w *podWorker) remove() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.wake()
}

// wake tells the worker's loop to look again; one pending wake-up is enough.
func (w *podWorker) wake() {
	select {
	case w.updates <- struct{}{}:
	default:
	}
}

func (w *podWorker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

func (w *podWorker) state() (pod *v1.Pod, gone bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.gone
}

func (w *podWorker) run() {
	defer close(w.done)
	defer w.cancel()
	// The pod network needs the IP kwok gives the pod (e2e/harness/localCluster.ts, stage tier-pod-network).
	for {
		pod, gone := w.state()
		if gone {
			w.cleanup()
			return
		}
		if pod.DeletionTimestamp != nil {
			w.finish(pod)
			return
		}
		if pod.Status.PodIP != "" {
			w.podIP = pod.Status.PodIP
			break
		}
		<-w.updates
	}
	go w.statusLoop()
	// As the kubelet's pod sync does, a pod that cannot start yet (a ConfigMap or Secret it mounts is not
	// there yet, say) is tried again, and says why meanwhile.
	for {
		err := w.setup()
		if err == nil {
			break
		}
		w.logf("cannot start yet: %v", err)
		w.mu.Lock()
		w.startErr = err.Error()
		w.mu.Unlock()
		w.markDirty()
		select {
		case <-w.updates:
			pod, gone := w.state()
			if gone {
				w.kill()
				w.cleanup()
				return
			}
			if pod.DeletionTimestamp != nil {
				w.finish(pod)
				return
			}
		case <-time.After(2 * time.Second):
		}
	}
	w.mu.Lock()
	w.startErr = ""
	w.mu.Unlock()
	go w.startContainers()
	sync := time.NewTicker(w.k.syncFrequency)
	defer sync.Stop()
	for {
		select {
		case <-w.updates:
			pod, gone := w.state()
			if gone {
				w.kill()
				w.cleanup()
				return
			}
			if pod.DeletionTimestamp != nil {
				w.terminate(pod)
				w.finish(pod)
				return
			}
		case <-sync.C:
			w.syncVolumes()
		}
	}
}

// setup makes the pod's folder, its volumes, its /etc files and its network.
func (w *podWorker) setup() error {
	pod := w.current()
	for _, v := range pod.Spec.Volumes {
		if !volumeSupported(v) {
			return fmt.Errorf("volume %s: this kubelet supports emptyDir, configMap, secret, projected and downwardAPI volumes", v.Name)
		}
	}
	for _, sub := range []string{"volumes", "etc", "containers", "logs"} {
		if err := os.MkdirAll(filepath.Join(w.dir, sub), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(w.dir, 0o755); err != nil {
		return err
	}
	vw := &volumeWriter{k: w.k, pod: pod, dir: filepath.Join(w.dir, "volumes"), tokens: map[string]cachedToken{}}
	if err := vw.write(w.ctx); err != nil {
		return err
	}
	w.mu.Lock()
	w.vols = vw
	w.mu.Unlock()
	if err := writePodEtc(filepath.Join(w.dir, "etc"), pod, w.podIP, w.k.clusterDNS, w.k.clusterDomain); err != nil {
		return err
	}
	w.mu.Lock()
	added := len(w.containers) > 0
	hasSandbox := w.sb != nil
	w.mu.Unlock()
	if !added {
		for _, c := range allContainers(pod) {
			w.addContainer(pod, c)
		}
	}
	if hasSandbox {
		return nil
	}
	sandboxLog, err := os.OpenFile(filepath.Join(w.dir, "logs", "sandbox.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer sandboxLog.Close()
	sysctls := map[string]string{}
	if pod.Spec.SecurityContext != nil {
		for _, s := range pod.Spec.SecurityContext.Sysctls {
			sysctls[s.Name] = s.Value
		}
	}
	sb, err := startSandbox(w.k.self, pod.Name, linkName(pod.UID), w.podIP, sysctls, sandboxLog)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.sb = sb
	w.startTime = time.Now()
	w.mu.Unlock()
	w.logf("sandbox %d at %s", sb.pid, w.podIP)
	w.markDirty()
	return nil
}

// linkName is the node end of a pod's veth: "veth" and the start of its UID (15 characters at most).
func linkName(uid types.UID) string {
	clean := strings.ReplaceAll(string(uid), "-", "")
	return "veth" + clean[:min(len(clean), 11)]
}

func (w *podWorker) addContainer(pod *v1.Pod, spec v1.Container) {
	image := w.k.images[spec.Image]
	c := &containerRuntime{spec: spec, image: image}
	for _, ic := range pod.Spec.InitContainers {
		if ic.Name == spec.Name {
			c.init = true
			c.sidecar = ic.RestartPolicy != nil && *ic.RestartPolicy == v1.ContainerRestartPolicyAlways
		}
	}
	c.uid, c.gid, c.groups = identity(pod, &spec, image)
	w.mu.Lock()
	w.containers = append(w.containers, c)
	w.mu.Unlock()
}

// identity is the user a container runs as: its own securityContext, else the pod's, else the image's,
// else root; groups as the runtime gives them (the pod's supplemental groups and fsGroup).
func identity(pod *v1.Pod, c *v1.Container, image imageSpec) (uid, gid int64, groups []int64) {
	if image.User != nil {
		uid = *image.User
	}
	if image.Group != nil {
		gid = *image.Group
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if psc.RunAsGroup != nil {
			gid = *psc.RunAsGroup
		}
		groups = append(groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			groups = append(groups, *psc.FSGroup)
		}
	}
	if csc := c.SecurityContext; csc != nil {
		if csc.RunAsUser != nil {
			uid = *csc.RunAsUser
		}
		if csc.RunAsGroup != nil {
			gid = *csc.RunAsGroup
		}
	}
	return uid, gid, groups
}

func (w *podWorker) container(name string) *containerRuntime {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.containers {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func (w *podWorker) isTerminating() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.terminating
}

// startContainers starts the pod's containers in the kubelet's order (pkg/kubelet/kuberuntime at v1.35.4
// computeInitContainerActions): init containers one at a time, each to exit 0 before the next, a native
// sidecar kept running and counted as started once its startupProbe passed; then the main containers in
// spec order, each postStart hook run before the next container starts.
func (w *podWorker) startContainers() {
	w.mu.Lock()
	containers := append([]*containerRuntime{}, w.containers...)
	w.mu.Unlock()
	for _, c := range containers {
		if !c.init {
			continue
		}
		if c.sidecar {
			go w.runContainer(c)
			if !w.waitFor(func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.started }) {
				return
			}
			continue
		}
		if !w.runInit(c) {
			return
		}
	}
	w.mu.Lock()
	w.initialized = true
	w.mu.Unlock()
	w.markDirty()
	for _, c := range containers {
		if c.init {
			continue
		}
		go w.runContainer(c)
		if c.spec.Lifecycle != nil && c.spec.Lifecycle.PostStart != nil {
			if !w.waitFor(c.running) {
				return
			}
			if err := w.runHandler(w.ctx, c.spec.Lifecycle.PostStart, c); err != nil {
				w.logf("postStart of %s failed: %v", c.spec.Name, err)
			}
		}
	}
}

// waitFor polls until cond holds, or the pod is ending (false).
func (w *podWorker) waitFor(cond func() bool) bool {
	for !cond() {
		if w.isTerminating() || w.ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// runInit runs a regular init container until it exits 0, restarting it on failure unless the pod's
// restartPolicy is Never (then the pod has failed).
func (w *podWorker) runInit(c *containerRuntime) bool {
	backoff := newBackoff()
	for {
		if w.isTerminating() || w.ctx.Err() != nil {
			return false
		}
		code, err := w.runOnce(c)
		if err == nil && code == 0 {
			return true
		}
		if w.current().Spec.RestartPolicy == v1.RestartPolicyNever {
			w.logf("init container %s failed (exit %d, %v); restartPolicy Never", c.spec.Name, code, err)
			return false
		}
		if !w.backOff(c, backoff) {
			return false
		}
	}
}

// runContainer keeps a main container or a native sidecar running as the restart policy says.
func (w *podWorker) runContainer(c *containerRuntime) {
	backoff := newBackoff()
	for {
		if w.isTerminating() || w.ctx.Err() != nil {
			return
		}
		started := time.Now()
		code, err := w.runOnce(c)
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping || w.isTerminating() {
			return
		}
		policy := w.current().Spec.RestartPolicy
		restart := c.sidecar || policy == "" || policy == v1.RestartPolicyAlways || (policy == v1.RestartPolicyOnFailure && (code != 0 || err != nil))
		if !restart {
			return
		}
		if time.Since(started) > 10*time.Minute {
			backoff = newBackoff()
		}
		if !w.backOff(c, backoff) {
			return
		}
	}
}

type backoff struct{ next time.Duration }

// The kubelet's crash loop back-off: 10 s, doubling, at most 5 minutes (pkg/kubelet/kubelet.go
// containerBackOffPeriod / MaxContainerBackOff).
func newBackoff() *backoff { return &backoff{next: 10 * time.Second} }

func (w *podWorker) backOff(c *containerRuntime, b *backoff) bool {
	c.mu.Lock()
	c.state = stateWaiting
	c.waitingReason = "CrashLoopBackOff"
	c.waitingMsg = fmt.Sprintf("back-off %s restarting failed container %s", b.next, c.spec.Name)
	c.mu.Unlock()
	w.markDirty()
	select {
	case <-time.After(b.next):
	case <-w.ctx.Done():
		return false
	}
	b.next *= 2
	if b.next > 5*time.Minute {
		b.next = 5 * time.Minute
	}
	return !w.isTerminating()
}

// runOnce starts the container's process, runs its probes while it lives, and returns its exit code.
func (w *podWorker) runOnce(c *containerRuntime) (int, error) {
	if err := w.startProcess(c); err != nil {
		w.logf("container %s: %v", c.spec.Name, err)
		c.mu.Lock()
		c.state = stateWaiting
		c.waitingReason = "CreateContainerError"
		c.waitingMsg = err.Error()
		c.mu.Unlock()
		w.markDirty()
		return -1, err
	}
	c.mu.Lock()
	exited := c.exited
	cmd := c.cmd
	c.mu.Unlock()
	probeCtx, stopProbes := context.WithCancel(w.ctx)
	go w.probeLoop(probeCtx, c)
	<-exited
	stopProbes()
	code := cmd.ProcessState.ExitCode()
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		code = 128 + int(status.Signal())
		reason = "Error"
	}
	c.mu.Lock()
	c.state = stateTerminated
	c.exitCode = code
	c.reason = reason
	c.finishedAt = time.Now()
	c.ready = false
	c.started = false
	c.lastState = &v1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(c.finishedAt)}
	c.mu.Unlock()
	w.logf("container %s exited %d", c.spec.Name, code)
	w.markDirty()
	return code, nil
}

// startProcess writes the container's spec and starts it: nsenter joins the sandbox's network, UTS and IPC
// namespaces, in a new mount and PID namespace (Cloneflags), and execs container-init, which execs the
// container's process as PID 1 there. So the process the kubelet holds is the container's own, and when
// it ends every other process of the container ends with it, as in a runtime's container.
func (w *podWorker) startProcess(c *containerRuntime) error {
	pod := w.current()
	w.mu.Lock()
	sb := w.sb
	w.mu.Unlock()
	if sb == nil {
		return fmt.Errorf("no sandbox")
	}
	src := envSource{pod: pod, podIP: w.podIP, hostIP: w.k.nodeIP, nodeAllocatable: w.k.nodeAllocatable, services: w.k.services, configMap: w.k.configMap, secret: w.k.secret}
	env, envMap, err := src.containerEnv(&c.spec, c.image)
	if err != nil {
		return err
	}
	dir := filepath.Join(w.dir, "containers", c.spec.Name)
	root := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(root); os.IsNotExist(err) {
		if err := prepareRoot(root); err != nil {
			return fmt.Errorf("preparing the root: %w", err)
		}
	}
	volumes := map[string]v1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	mounts, links, err := rootMounts(c.image, w.dir, &c.spec, volumes)
	if err != nil {
		return err
	}
	workingDir := c.spec.WorkingDir
	if workingDir == "" {
		workingDir = c.image.WorkingDir
	}
	spec := containerSpec{Root: root, Mounts: mounts, Symlinks: links, WorkingDir: workingDir, UID: c.uid, GID: c.gid, Groups: c.groups, Argv: processArgs(&c.spec, c.image, envMap), Env: env}
	specFile := filepath.Join(dir, "spec.json")
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(w.dir, "logs", c.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("nsenter", "--target", strconv.Itoa(sb.pid), "--net", "--uts", "--ipc", "--", w.k.self, "container-init", specFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting: %w", err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	if c.state == stateTerminated || c.restartCount > 0 || !c.startedAt.IsZero() {
		c.restartCount++
	}
	c.cmd = cmd
	c.env = env
	c.state = stateRunning
	c.startedAt = time.Now()
	c.exited = exited
	c.started = c.spec.StartupProbe == nil
	c.ready = false
	c.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	w.logf("container %s started, pid %d: %v", c.spec.Name, cmd.Process.Pid, spec.Argv)
	w.markDirty()
	return nil
}

// probeLoop runs a process's startup probe until it passes, then its readiness probe, as the kubelet's
// probe workers do (pkg/kubelet/prober/worker.go): readiness starts as failure; a container without a
// readinessProbe is ready once started; thresholds count consecutive results. A container that fails its
// startupProbe is killed and restarted.
func (w *podWorker) probeLoop(ctx context.Context, c *containerRuntime) {
	if p := c.spec.StartupProbe; p != nil {
		if !w.probeUntil(ctx, c, p, true) {
			if ctx.Err() == nil {
				w.logf("container %s failed its startupProbe; killing it", c.spec.Name)
				w.signal(c, syscall.SIGKILL)
			}
			return
		}
		c.mu.Lock()
		c.started = true
		c.mu.Unlock()
		w.markDirty()
	}
	p := c.spec.ReadinessProbe
	if p == nil {
		c.mu.Lock()
		c.ready = true
		c.mu.Unlock()
		w.markDirty()
		return
	}
	period := seconds(p.PeriodSeconds, 10)
	successThreshold, failureThreshold := threshold(p.SuccessThreshold, 1), threshold(p.FailureThreshold, 3)
	if !sleepCtx(ctx, seconds(p.InitialDelaySeconds, 0)) {
		return
	}
	successes, failures := 0, 0
	for {
		ok, out := w.runProbe(ctx, p, c)
		if ctx.Err() != nil {
			return
		}
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		c.mu.Lock()
		changed := false
		if ok && successes >= successThreshold && !c.ready {
			c.ready, changed = true, true
		} else if !ok && failures >= failureThreshold && c.ready {
			c.ready, changed = false, true
		}
		c.mu.Unlock()
		if changed {
			w.logf("container %s ready=%v (%s)", c.spec.Name, ok, out)
			w.markDirty()
		}
		if !sleepCtx(ctx, period) {
			return
		}
	}
}

// probeUntil runs a probe until it succeeds (true) or fails failureThreshold times in a row (false).
func (w *podWorker) probeUntil(ctx context.Context, c *containerRuntime, p *v1.Probe, _ bool) bool {
	if !sleepCtx(ctx, seconds(p.InitialDelaySeconds, 0)) {
		return false
	}
	failures := 0
	for {
		ok, _ := w.runProbe(ctx, p, c)
		if ctx.Err() != nil {
			return false
		}
		if ok {
			return true
		}
		failures++
		if failures >= threshold(p.FailureThreshold, 3) {
			return false
		}
		if !sleepCtx(ctx, seconds(p.PeriodSeconds, 10)) {
			return false
		}
	}
}

func seconds(n int32, fallback int32) time.Duration {
	if n <= 0 {
		n = fallback
	}
	return time.Duration(n) * time.Second
}

func threshold(n int32, fallback int) int {
	if n <= 0 {
		return fallback
	}
	return int(n)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (w *podWorker) signal(c *containerRuntime, sig syscall.Signal) {
	if pid := c.pid(); pid != 0 {
		_ = syscall.Kill(pid, sig)
	}
}

// terminate stops the pod as the kubelet does on deletion (kuberuntime killContainersWithSyncResult,
// killContainer and the termination ordering at v1.35.4): every container's preStop hook starts at once;
// a main container gets SIGTERM when its hook returns; native sidecars wait until every main container has
// exited, the later sidecars first; whatever still runs at the end of the grace period (at least 2 s) is
// killed.
func (w *podWorker) terminate(pod *v1.Pod) {
	w.mu.Lock()
	w.terminating = true
	containers := append([]*containerRuntime{}, w.containers...)
	w.mu.Unlock()
	grace := int64(30)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if grace < 2 {
		grace = 2
	}
	deadline := time.Now().Add(time.Duration(grace) * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	w.logf("terminating, grace %ds", grace)
	for _, c := range containers {
		c.mu.Lock()
		c.stopping = true
		c.mu.Unlock()
	}
	var mains, sidecars []*containerRuntime
	hooks := map[*containerRuntime]chan struct{}{}
	for _, c := range containers {
		done := make(chan struct{})
		hooks[c] = done
		go func(c *containerRuntime) {
			defer close(done)
			if c.running() && c.spec.Lifecycle != nil && c.spec.Lifecycle.PreStop != nil {
				if err := w.runHandler(ctx, c.spec.Lifecycle.PreStop, c); err != nil {
					w.logf("preStop of %s: %v", c.spec.Name, err)
				}
			}
		}(c)
		if c.sidecar {
			sidecars = append(sidecars, c)
		} else if !c.init {
			mains = append(mains, c)
		} else {
			w.signal(c, syscall.SIGKILL) // a regular init container still running: it had not finished
		}
	}
	var wg sync.WaitGroup
	for _, c := range mains {
		wg.Add(1)
		go func(c *containerRuntime) {
			defer wg.Done()
			select {
			case <-hooks[c]:
			case <-ctx.Done():
			}
			w.stopContainer(ctx, c)
		}(c)
	}
	wg.Wait()
	for i := len(sidecars) - 1; i >= 0; i-- {
		c := sidecars[i]
		select {
		case <-hooks[c]:
		case <-ctx.Done():
		}
		w.stopContainer(ctx, c)
	}
	w.kill()
}

// stopContainer sends SIGTERM and waits for the process, until ctx's deadline.
func (w *podWorker) stopContainer(ctx context.Context, c *containerRuntime) {
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	if !c.running() {
		return
	}
	w.signal(c, syscall.SIGTERM)
	select {
	case <-exited:
	case <-ctx.Done():
	}
}

// kill ends whatever still runs of the pod, then its sandbox.
func (w *podWorker) kill() {
	w.mu.Lock()
	w.terminating = true
	containers := append([]*containerRuntime{}, w.containers...)
	sb := w.sb
	w.mu.Unlock()
	for _, c := range containers {
		c.mu.Lock()
		c.stopping = true
		exited := c.exited
		c.mu.Unlock()
		if c.running() {
			w.signal(c, syscall.SIGKILL)
			if exited != nil {
				<-exited
			}
		}
	}
	sb.stop()
	w.cancel()
}

// finish removes the pod object once its containers are gone, as the kubelet's status manager does once
// the pod can be deleted: a delete with no grace and the pod's UID as precondition.
func (w *podWorker) finish(pod *v1.Pod) {
	w.cleanup()
	uid := pod.UID
	zero := int64(0)
	err := w.k.client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil {
		w.logf("deleting the pod object: %v", err)
		return
	}
	w.logf("removed")
}

func (w *podWorker) cleanup() {
	w.kill()
	if err := os.RemoveAll(w.dir); err != nil {
		w.logf("removing %s: %v", w.dir, err)
	}
}

func (w *podWorker) syncVolumes() {
	w.mu.Lock()
	vw := w.vols
	pod := w.pod
	w.mu.Unlock()
	if vw == nil {
		return
	}
	vw.pod = pod
	if err := vw.write(w.ctx); err != nil {
		w.logf("volume sync: %v", err)
	}
}
