package main

import (
	"encoding/json"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// statusLoop reports the pod's status whenever it changes (at most five times a second), as the kubelet's
// status manager does; the pod's IPs stay what kwok set.
func (w *podWorker) statusLoop() {
	var last string
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.dirty:
		}
		if w.isTerminating() {
			continue
		}
		status := w.buildStatus(time.Now())
		patch, err := json.Marshal(map[string]any{"status": status})
		if err != nil {
			w.logf("status: %v", err)
			continue
		}
		if string(patch) == last {
			continue
		}
		pod := w.current()
		_, err = w.k.client.CoreV1().Pods(pod.Namespace).Patch(w.ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil {
			if w.ctx.Err() == nil {
				w.logf("status patch: %v", err)
				time.Sleep(time.Second)
				w.markDirty()
			}
			continue
		}
		last = string(patch)
		time.Sleep(200 * time.Millisecond)
	}
}

type statusPatch struct {
	Phase                 v1.PodPhase          `json:"phase"`
	Conditions            []v1.PodCondition    `json:"conditions"`
	ContainerStatuses     []v1.ContainerStatus `json:"containerStatuses"`
	InitContainerStatuses []v1.ContainerStatus `json:"initContainerStatuses,omitempty"`
	StartTime             *metav1.Time         `json:"startTime,omitempty"`
	Message               string               `json:"message,omitempty"`
	Reason                string               `json:"reason,omitempty"`
}

// buildStatus computes the pod's status from its containers as the kubelet does (pkg/kubelet/status
// GeneratePodReadyCondition and friends): Initialized once every init container has finished and every
// native sidecar has started; ContainersReady when every main container and every native sidecar is
// ready; Ready likewise (no readiness gates here); Running once the sandbox exists and init is done.
func (w *podWorker) buildStatus(now time.Time) statusPatch {
	w.mu.Lock()
	containers := append([]*containerRuntime{}, w.containers...)
	startTime := w.startTime
	initialized := w.initialized
	startErr := w.startErr
	hasSandbox := w.sb != nil
	w.mu.Unlock()
	pod := w.current()
	status := statusPatch{Phase: v1.PodPending}
	if !startTime.IsZero() {
		t := metav1.NewTime(startTime)
		status.StartTime = &t
	}
	allReady := true
	anyMain := false
	for _, c := range containers {
		cs := c.status()
		if c.init {
			status.InitContainerStatuses = append(status.InitContainerStatuses, cs)
			if c.sidecar && !cs.Ready {
				allReady = false
			}
			continue
		}
		anyMain = true
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
		if !cs.Ready {
			allReady = false
		}
	}
	if startErr != "" {
		status.Message = startErr
		status.Reason = "TierKubeletCannotStart"
		for i := range pod.Spec.Containers {
			if i >= len(status.ContainerStatuses) {
				status.ContainerStatuses = append(status.ContainerStatuses, v1.ContainerStatus{Name: pod.Spec.Containers[i].Name, Image: pod.Spec.Containers[i].Image})
			}
		}
	}
	if initialized && hasSandbox {
		status.Phase = v1.PodRunning
	}
	cond := func(t v1.PodConditionType, ok bool, reason string) v1.PodCondition {
		s := v1.ConditionFalse
		if ok {
			s = v1.ConditionTrue
			reason = ""
		}
		return v1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))}
	}
	ready := initialized && anyMain && allReady
	status.Conditions = []v1.PodCondition{
		cond(v1.PodReadyToStartContainers, hasSandbox, ""),
		cond(v1.PodInitialized, initialized, "ContainersNotInitialized"),
		cond(v1.ContainersReady, ready, "ContainersNotReady"),
		cond(v1.PodReady, ready, "ContainersNotReady"),
	}
	// A condition keeps its transition time while its status does not change.
	for i, c := range status.Conditions {
		for _, old := range pod.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				status.Conditions[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	return status
}

func (c *containerRuntime) status() v1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	started := c.started
	cs := v1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: "tier://" + c.spec.Image,
		Ready: c.ready, RestartCount: c.restartCount, Started: &started,
	}
	if c.cmd != nil && c.cmd.Process != nil {
		cs.ContainerID = fmt.Sprintf("tier://%d", c.cmd.Process.Pid)
	}
	switch c.state {
	case stateRunning:
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
	case stateTerminated:
		cs.State.Terminated = &v1.ContainerStateTerminated{ExitCode: int32(c.exitCode), Reason: c.reason, StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(c.finishedAt)}
	default:
		reason := c.waitingReason
		if reason == "" {
			reason = "PodInitializing"
		}
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: reason, Message: c.waitingMsg}
	}
	if c.lastState != nil && c.state != stateTerminated {
		cs.LastTerminationState.Terminated = c.lastState
	}
	return cs
}
