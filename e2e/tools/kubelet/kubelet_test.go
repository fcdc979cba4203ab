package main

import (
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func testPod() *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "0d1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{
			NodeName:           "kwok-node-0",
			ServiceAccountName: "web",
			Containers: []v1.Container{{
				Name:  "main",
				Image: "img",
				Env: []v1.EnvVar{
					{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
					{Name: "APP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
					{Name: "GREETING", Value: "hi-$(POD_NAME)-$(LATER)-$$(POD_NAME)"},
					{Name: "LATER", Value: "later"},
				},
				Args: []string{"--name=$(POD_NAME)", "--unknown=$(NOPE)"},
			}},
		},
	}
}

func TestContainerEnvFollowsTheKubelet(t *testing.T) {
	pod := testPod()
	src := envSource{pod: pod, podIP: "10.244.0.7", hostIP: "10.200.0.2"}
	list, env, err := src.containerEnv(&pod.Spec.Containers[0], imageSpec{Env: []string{"PATH=/usr/bin", "POD_NAME=from-image"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"POD_NAME": "web-1", "POD_IP": "10.244.0.7", "APP": "web", "LATER": "later",
		// A variable defined later is not expanded; $$ escapes.
		"GREETING": "hi-web-1-$(LATER)-$(POD_NAME)",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	joined := strings.Join(list, "\n")
	for _, line := range []string{"PATH=/usr/bin", "HOSTNAME=web-1", "POD_NAME=web-1"} {
		if !strings.Contains(joined+"\n", line+"\n") {
			t.Errorf("environment lacks %q:\n%s", line, joined)
		}
	}
	argv := processArgs(&pod.Spec.Containers[0], imageSpec{Entrypoint: []string{"/bin/app"}, Cmd: []string{"--default"}}, env)
	if !reflect.DeepEqual(argv, []string{"/bin/app", "--name=web-1", "--unknown=$(NOPE)"}) {
		t.Errorf("argv %q", argv)
	}
}

func TestProcessArgsTakesTheImageCmdOnlyWithoutArgs(t *testing.T) {
	image := imageSpec{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}}
	if got := processArgs(&v1.Container{}, image, nil); !reflect.DeepEqual(got, []string{"/entry", "default"}) {
		t.Errorf("no command, no args: %q", got)
	}
	if got := processArgs(&v1.Container{Command: []string{"/own"}}, image, nil); !reflect.DeepEqual(got, []string{"/own"}) {
		t.Errorf("command: %q", got)
	}
}

func TestIdentity(t *testing.T) {
	pod := testPod()
	image := imageSpec{User: ptr[int64](1337), Group: ptr[int64](1337)}
	if uid, gid, _ := identity(pod, &pod.Spec.Containers[0], image); uid != 1337 || gid != 1337 {
		t.Errorf("image user: %d:%d", uid, gid)
	}
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr[int64](1000), FSGroup: ptr[int64](2000)}
	c := pod.Spec.Containers[0]
	c.SecurityContext = &v1.SecurityContext{RunAsUser: ptr[int64](0)}
	uid, gid, groups := identity(pod, &c, image)
	if uid != 0 || gid != 1337 || !reflect.DeepEqual(groups, []int64{2000}) {
		t.Errorf("container over pod over image: %d:%d %v", uid, gid, groups)
	}
}

func TestResolvConfForClusterFirst(t *testing.T) {
	got := resolvConf(testPod(), "10.96.0.10", "cluster.local")
	want := "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	pod := testPod()
	pod.Spec.DNSPolicy = v1.DNSNone
	pod.Spec.DNSConfig = &v1.PodDNSConfig{Nameservers: []string{"1.2.3.4"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}}}
	if got := resolvConf(pod, "10.96.0.10", "cluster.local"); got != "nameserver 1.2.3.4\noptions ndots:2\n" {
		t.Errorf("dnsPolicy None: %q", got)
	}
}

func TestLinkNameFitsAnInterfaceName(t *testing.T) {
	name := linkName(testPod().UID)
	if name != "veth0d1f2a3b4c5" || len(name) > 15 {
		t.Errorf("%q", name)
	}
}

func TestMountsStayInTheirVolumeAndRoot(t *testing.T) {
	volumes := map[string]v1.Volume{"data": {Name: "data"}}
	for _, sub := range []string{"../other", "/abs", ".."} {
		c := &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: sub}}}
		if _, _, err := rootMounts(imageSpec{}, "/pods/x", c, volumes); err == nil {
			t.Errorf("subPath %q accepted", sub)
		}
	}
	for _, p := range []string{"relative", "/a/../b", "/a/./b"} {
		if _, err := inRoot("/root", p); err == nil {
			t.Errorf("container path %q accepted", p)
		}
	}
	c := &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/var/run/x/deeper"}, {Name: "data", MountPath: "/var/run/x"}}}
	mounts, _, err := rootMounts(imageSpec{}, "/pods/x", c, volumes)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Target, "/var/run/x") {
			order = append(order, m.Target)
		}
	}
	if !reflect.DeepEqual(order, []string{"/var/run/x", "/var/run/x/deeper"}) {
		t.Errorf("a mount inside another must come after it: %v", order)
	}
}

func TestRunnablePods(t *testing.T) {
	table := imageTable{"img": {}}
	pod := testPod()
	if !table.runnable(pod) {
		t.Error("every image known: runnable")
	}
	pod.Spec.InitContainers = []v1.Container{{Name: "init", Image: "unknown"}}
	if table.runnable(pod) {
		t.Error("an unknown init image: kwok's")
	}
	pod = testPod()
	pod.Spec.HostNetwork = true
	if table.runnable(pod) {
		t.Error("host network: kwok's")
	}
}

func TestStatusFromContainers(t *testing.T) {
	pod := testPod()
	w := &podWorker{pod: pod, initialized: true, sb: &sandbox{}}
	main := &containerRuntime{spec: pod.Spec.Containers[0], state: stateRunning, started: true, ready: false}
	sidecar := &containerRuntime{spec: v1.Container{Name: "proxy", Image: "img"}, init: true, sidecar: true, state: stateRunning, started: true, ready: true}
	w.containers = []*containerRuntime{sidecar, main}
	status := w.buildStatus(metav1.Now().Time)
	ready := map[v1.PodConditionType]v1.ConditionStatus{}
	for _, c := range status.Conditions {
		ready[c.Type] = c.Status
	}
	if status.Phase != v1.PodRunning || ready[v1.PodReady] != v1.ConditionFalse || ready[v1.PodInitialized] != v1.ConditionTrue {
		t.Errorf("main not ready: %v %v", status.Phase, ready)
	}
	main.ready = true
	for _, c := range w.buildStatus(metav1.Now().Time).Conditions {
		if c.Type == v1.PodReady && c.Status != v1.ConditionTrue {
			t.Errorf("all ready: %v", c)
		}
	}
	sidecar.ready = false
	for _, c := range w.buildStatus(metav1.Now().Time).Conditions {
		if c.Type == v1.ContainersReady && c.Status != v1.ConditionFalse {
			t.Errorf("a native sidecar not ready keeps the pod unready: %v", c)
		}
	}
}
