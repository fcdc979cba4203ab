package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/pkg/volume/configmap"
	"k8s.io/kubernetes/pkg/volume/secret"
	volumeutil "k8s.io/kubernetes/pkg/volume/util"
)

// The volume types the tier's pods use. A pod with another type is not started: its status says why.
func volumeSupported(v v1.Volume) bool {
	return v.EmptyDir != nil || v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil
}

type cachedToken struct {
	token   string
	fetched time.Time
	ttl     time.Duration
}

// volumeWriter writes a pod's volumes under its folder as the kubelet's volume plugins do: emptyDir as a
// folder anyone may write (0777), the others through Kubernetes' AtomicWriter (the ..data symlink layout,
// updated in one swap), with the plugins' own payload functions and modes. Service account tokens come
// from TokenRequest, bound to the pod, and are fetched again at 80% of their life as the kubelet's token
// manager does (pkg/kubelet/token/token_manager.go requiresRefresh).
type volumeWriter struct {
	k      *kubelet
	pod    *v1.Pod
	dir    string
	tokens map[string]cachedToken
}

func (w *volumeWriter) path(name string) string { return filepath.Join(w.dir, name) }

// write writes (or brings up to date) every volume of the pod. The first write must succeed for the pod
// to start; a later one that fails leaves the last content in place, as the kubelet does.
func (w *volumeWriter) write(ctx context.Context) error {
	for _, v := range w.pod.Spec.Volumes {
		if err := w.writeOne(ctx, v); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	return nil
}

func (w *volumeWriter) writeOne(ctx context.Context, v v1.Volume) error {
	dir := w.path(v.Name)
	if v.EmptyDir != nil {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		return os.Chmod(dir, 0o777)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	payload, err := w.payload(ctx, v)
	if err != nil {
		return err
	}
	writer, err := volumeutil.NewAtomicWriter(dir, fmt.Sprintf("pod %s/%s volume %s", w.pod.Namespace, w.pod.Name, v.Name))
	if err != nil {
		return err
	}
	return writer.Write(payload, nil)
}

func (w *volumeWriter) payload(ctx context.Context, v v1.Volume) (map[string]volumeutil.FileProjection, error) {
	switch {
	case v.Secret != nil:
		optional := v.Secret.Optional != nil && *v.Secret.Optional
		s, err := w.k.secret(w.pod.Namespace, v.Secret.SecretName)
		if err != nil {
			if !errors.IsNotFound(err) || !optional {
				return nil, err
			}
			s = &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.pod.Namespace, Name: v.Secret.SecretName}}
		}
		return secret.MakePayload(v.Secret.Items, s, defaultMode(v.Secret.DefaultMode), optional)
	case v.ConfigMap != nil:
		optional := v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
		cm, err := w.k.configMap(w.pod.Namespace, v.ConfigMap.Name)
		if err != nil {
			if !errors.IsNotFound(err) || !optional {
				return nil, err
			}
			cm = &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: w.pod.Namespace, Name: v.ConfigMap.Name}}
		}
		return configmap.MakePayload(v.ConfigMap.Items, cm, defaultMode(v.ConfigMap.DefaultMode), optional)
	case v.DownwardAPI != nil:
		return w.downwardAPI(v.DownwardAPI.Items, *defaultMode(v.DownwardAPI.DefaultMode))
	case v.Projected != nil:
		return w.projected(ctx, v)
	}
	return nil, fmt.Errorf("unsupported volume type")
}

// projected follows pkg/volume/projected's collectData at v1.35.4: each source's payload, a token of mode
// 0600 owned by the pod's one user when all its containers run as one (volumeutil.FsUserFrom), else the
// volume's mode.
func (w *volumeWriter) projected(ctx context.Context, v v1.Volume) (map[string]volumeutil.FileProjection, error) {
	mode := defaultMode(v.Projected.DefaultMode)
	fsUser := volumeutil.FsUserFrom(w.pod)
	var fsGroup *int64
	if w.pod.Spec.SecurityContext != nil {
		fsGroup = w.pod.Spec.SecurityContext.FSGroup
	}
	payload := map[string]volumeutil.FileProjection{}
	for i, source := range v.Projected.Sources {
		var part map[string]volumeutil.FileProjection
		var err error
		switch {
		case source.Secret != nil:
			optional := source.Secret.Optional != nil && *source.Secret.Optional
			s, getErr := w.k.secret(w.pod.Namespace, source.Secret.Name)
			if getErr != nil {
				if !errors.IsNotFound(getErr) || !optional {
					return nil, getErr
				}
				s = &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.pod.Namespace, Name: source.Secret.Name}}
			}
			part, err = secret.MakePayload(source.Secret.Items, s, mode, optional)
		case source.ConfigMap != nil:
			optional := source.ConfigMap.Optional != nil && *source.ConfigMap.Optional
			cm, getErr := w.k.configMap(w.pod.Namespace, source.ConfigMap.Name)
			if getErr != nil {
				if !errors.IsNotFound(getErr) || !optional {
					return nil, getErr
				}
				cm = &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: w.pod.Namespace, Name: source.ConfigMap.Name}}
			}
			part, err = configmap.MakePayload(source.ConfigMap.Items, cm, mode, optional)
		case source.DownwardAPI != nil:
			part, err = w.downwardAPI(source.DownwardAPI.Items, *mode)
		case source.ServiceAccountToken != nil:
			tokenMode := *mode
			if fsUser != nil || fsGroup != nil {
				tokenMode = 0o600
			}
			token, tokenErr := w.token(ctx, fmt.Sprintf("%s/%d", v.Name, i), source.ServiceAccountToken)
			if tokenErr != nil {
				return nil, tokenErr
			}
			part = map[string]volumeutil.FileProjection{source.ServiceAccountToken.Path: {Data: []byte(token), Mode: tokenMode, FsUser: fsUser}}
		default:
			return nil, fmt.Errorf("projected source %d: unsupported type", i)
		}
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			payload[k] = v
		}
	}
	return payload, nil
}

func (w *volumeWriter) token(ctx context.Context, key string, source *v1.ServiceAccountTokenProjection) (string, error) {
	if cached, ok := w.tokens[key]; ok && time.Since(cached.fetched) < cached.ttl*8/10 {
		return cached.token, nil
	}
	var audiences []string
	if source.Audience != "" {
		audiences = []string{source.Audience}
	}
	account := w.pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	tr, err := w.k.client.CoreV1().ServiceAccounts(w.pod.Namespace).CreateToken(ctx, account, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         audiences,
			ExpirationSeconds: source.ExpirationSeconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: w.pod.Name, UID: w.pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("TokenRequest for service account %s: %w", account, err)
	}
	ttl := time.Until(tr.Status.ExpirationTimestamp.Time)
	w.tokens[key] = cachedToken{token: tr.Status.Token, fetched: time.Now(), ttl: ttl}
	return tr.Status.Token, nil
}

// downwardAPI is pkg/volume/downwardapi's CollectData: each field as pkg/fieldpath formats it (labels and
// annotations as sorted key="value" lines), resources from the container's limits or the node's
// allocatable.
func (w *volumeWriter) downwardAPI(items []v1.DownwardAPIVolumeFile, mode int32) (map[string]volumeutil.FileProjection, error) {
	out := map[string]volumeutil.FileProjection{}
	for _, item := range items {
		itemMode := mode
		if item.Mode != nil {
			itemMode = *item.Mode
		}
		var value string
		var err error
		switch {
		case item.FieldRef != nil:
			value, err = fieldpath.ExtractFieldPathAsString(w.pod, item.FieldRef.FieldPath)
		case item.ResourceFieldRef != nil:
			value, err = resource.ExtractResourceValueByContainerNameAndNodeAllocatable(item.ResourceFieldRef, w.pod, item.ResourceFieldRef.ContainerName, w.k.nodeAllocatable)
		}
		if err != nil {
			return nil, fmt.Errorf("downward API %s: %w", item.Path, err)
		}
		out[item.Path] = volumeutil.FileProjection{Data: []byte(value), Mode: itemMode}
	}
	return out, nil
}

func defaultMode(mode *int32) *int32 {
	if mode != nil {
		return mode
	}
	m := int32(v1.SecretVolumeSourceDefaultMode) // 0644, the API server's default for every one of these types
	return &m
}
