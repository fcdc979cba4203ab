package main

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/pkg/kubelet/envvars"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// envSource is what a container's environment is made from besides its spec.
type envSource struct {
	pod             *v1.Pod
	podIP           string
	hostIP          string
	nodeAllocatable v1.ResourceList
	services        listersv1.ServiceLister
	configMap       func(namespace, name string) (*v1.ConfigMap, error)
	secret          func(namespace, name string) (*v1.Secret, error)
}

// serviceEnv is the kubelet's getServiceEnvVarMap (pkg/kubelet/kubelet_pods.go at v1.35.4): Service
// variables for the master Service `kubernetes` always, and for the pod namespace's Services with a
// cluster IP when enableServiceLinks (default true).
func (s envSource) serviceEnv() (map[string]string, error) {
	out := map[string]string{}
	if s.services == nil {
		return out, nil
	}
	services, err := s.services.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing Services for the environment: %w", err)
	}
	enableLinks := s.pod.Spec.EnableServiceLinks == nil || *s.pod.Spec.EnableServiceLinks
	chosen := map[string]*v1.Service{}
	for _, svc := range services {
		if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == v1.ClusterIPNone {
			continue
		}
		if svc.Namespace == "default" && svc.Name == "kubernetes" {
			if _, ok := chosen[svc.Name]; !ok {
				chosen[svc.Name] = svc
			}
		} else if svc.Namespace == s.pod.Namespace && enableLinks {
			chosen[svc.Name] = svc
		}
	}
	list := make([]*v1.Service, 0, len(chosen))
	for _, svc := range chosen {
		list = append(list, svc)
	}
	for _, e := range envvars.FromServices(list) {
		out[e.Name] = e.Value
	}
	return out, nil
}

// containerEnv is the kubelet's makeEnvironmentVariables for one container, in its order: envFrom, then
// env (a value expanded against what is defined so far and the Service variables), then the Service
// variables not set otherwise; then the runtime puts the image's variables under them and HOSTNAME.
func (s envSource) containerEnv(c *v1.Container, image imageSpec) ([]string, map[string]string, error) {
	serviceEnv, err := s.serviceEnv()
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		data := map[string]string{}
		switch {
		case from.ConfigMapRef != nil:
			cm, err := s.configMap(s.pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, nil, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			secret, err := s.secret(s.pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, nil, err
			}
			for k, v := range secret.Data {
				data[k] = string(v)
			}
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	mapping := expansion.MappingFuncFor(env, serviceEnv)
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expansion.Expand(e.Value, mapping)
			continue
		}
		value, err := s.valueFrom(c, e.ValueFrom)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		env[e.Name] = value
	}
	for k, v := range serviceEnv {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	// The runtime's part: the image's variables under the container's, and HOSTNAME.
	merged := map[string]string{}
	for _, kv := range image.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			merged[k] = v
		}
	}
	merged["HOSTNAME"] = s.pod.Name
	for k, v := range env {
		merged[k] = v
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		list = append(list, k+"="+merged[k])
	}
	return list, env, nil
}

func (s envSource) valueFrom(c *v1.Container, from *v1.EnvVarSource) (string, error) {
	switch {
	case from.FieldRef != nil:
		return s.fieldValue(from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		containerName := from.ResourceFieldRef.ContainerName
		if containerName == "" {
			containerName = c.Name
		}
		return resource.ExtractResourceValueByContainerNameAndNodeAllocatable(from.ResourceFieldRef, s.pod, containerName, s.nodeAllocatable)
	case from.ConfigMapKeyRef != nil:
		cm, err := s.configMap(s.pod.Namespace, from.ConfigMapKeyRef.Name)
		optional := from.ConfigMapKeyRef.Optional != nil && *from.ConfigMapKeyRef.Optional
		if err != nil {
			if optional {
				return "", nil
			}
			return "", err
		}
		value, ok := cm.Data[from.ConfigMapKeyRef.Key]
		if !ok && !optional {
			return "", fmt.Errorf("configmap %s has no key %s", cm.Name, from.ConfigMapKeyRef.Key)
		}
		return value, nil
	case from.SecretKeyRef != nil:
		secret, err := s.secret(s.pod.Namespace, from.SecretKeyRef.Name)
		optional := from.SecretKeyRef.Optional != nil && *from.SecretKeyRef.Optional
		if err != nil {
			if optional {
				return "", nil
			}
			return "", err
		}
		value, ok := secret.Data[from.SecretKeyRef.Key]
		if !ok && !optional {
			return "", fmt.Errorf("secret %s has no key %s", secret.Name, from.SecretKeyRef.Key)
		}
		return string(value), nil
	}
	return "", fmt.Errorf("unsupported valueFrom")
}

// fieldValue is the kubelet's podFieldSelectorRuntimeValue: the IPs and the node from what this kubelet
// knows, the rest from the pod object (pkg/fieldpath).
func (s envSource) fieldValue(fieldPath string) (string, error) {
	switch fieldPath {
	case "spec.nodeName":
		return s.pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return s.pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return s.hostIP, nil
	case "status.podIP", "status.podIPs":
		return s.podIP, nil
	}
	return fieldpath.ExtractFieldPathAsString(s.pod, fieldPath)
}

// expandArgs is the kubelet's ExpandContainerCommandAndArgs: $(VAR) in command and args from the
// container's environment; a variable it does not know stays as written.
func expandArgs(args []string, env map[string]string) []string {
	mapping := expansion.MappingFuncFor(env)
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = expansion.Expand(arg, mapping)
	}
	return out
}

// processArgs is what the runtime runs: the container's command (or the image's entrypoint) and its args
// (or, with neither command nor args in the spec, the image's cmd).
func processArgs(c *v1.Container, image imageSpec, env map[string]string) []string {
	command := expandArgs(c.Command, env)
	args := expandArgs(c.Args, env)
	if len(command) == 0 {
		command = image.Entrypoint
		if len(c.Args) == 0 {
			args = image.Cmd
		}
	}
	return append(append([]string{}, command...), args...)
}
