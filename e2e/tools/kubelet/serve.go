package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

type kubelet struct {
	client          kubernetes.Interface
	nodeName        string
	nodeIP          string
	root            string
	self            string
	images          imageTable
	clusterDNS      string
	clusterDomain   string
	syncFrequency   time.Duration
	nodeAllocatable v1.ResourceList
	services        listersv1.ServiceLister

	mu       sync.Mutex
	workers  map[types.UID]*podWorker
	finished map[types.UID]bool
}

func (k *kubelet) configMap(namespace, name string) (*v1.ConfigMap, error) {
	return k.client.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
}

func (k *kubelet) secret(namespace, name string) (*v1.Secret, error) {
	return k.client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server")
	nodeName := fs.String("node-name", "", "the node whose pods this kubelet runs")
	nodeIP := fs.String("node-ip", "", "the node's address: status.hostIP, and where the kubelet API listens")
	port := fs.Int("port", 10250, "the kubelet API's port (exec, logs)")
	root := fs.String("root", "", "folder for the pods' files")
	imagesFile := fs.String("images", "", "JSON table of the images the tier stands in for")
	clusterDNS := fs.String("cluster-dns", "10.96.0.10", "the cluster DNS Service's IP")
	clusterDomain := fs.String("cluster-domain", "cluster.local", "the cluster's DNS domain")
	syncFrequency := fs.Duration("sync-frequency", time.Minute, "how often mounted configMaps, Secrets and tokens are brought up to date (the kubelet's syncFrequency)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || *nodeName == "" || *nodeIP == "" || *root == "" || *imagesFile == "" {
		return fmt.Errorf("--kubeconfig, --node-name, --node-ip, --root and --images are required")
	}
	images, err := loadImages(*imagesFile)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	config.UserAgent = "tier-kubelet/" + *nodeName
	config.QPS, config.Burst = 50, 100
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	node, err := client.CoreV1().Nodes().Get(context.Background(), *nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", *nodeName, err)
	}
	if err := os.MkdirAll(filepath.Join(*root, "pods"), 0o755); err != nil {
		return err
	}
	k := &kubelet{
		client: client, nodeName: *nodeName, nodeIP: *nodeIP, root: *root, self: self, images: images,
		clusterDNS: *clusterDNS, clusterDomain: *clusterDomain, syncFrequency: *syncFrequency,
		nodeAllocatable: node.Status.Allocatable, workers: map[types.UID]*podWorker{}, finished: map[types.UID]bool{},
	}
	log.Printf("tier-kubelet: node %s at %s, %d images: %v", *nodeName, *nodeIP, len(images), images.refs())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	all := informers.NewSharedInformerFactory(client, 0)
	k.services = all.Core().V1().Services().Lister()
	onNode := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", *nodeName).String()
	}))
	podInformer := onNode.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.podChanged(obj) },
		UpdateFunc: func(_, obj any) { k.podChanged(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*v1.Pod); ok {
				k.podRemoved(pod)
			}
		},
	}); err != nil {
		return err
	}
	all.Start(ctx.Done())
	all.WaitForCacheSync(ctx.Done())
	onNode.Start(ctx.Done())

	server, err := k.apiServer(fmt.Sprintf("%s:%d", *nodeIP, *port))
	if err != nil {
		return err
	}
	go func() {
		if err := server.ListenAndServeTLS("", ""); err != nil && ctx.Err() == nil {
			log.Printf("kubelet API: %v", err)
			stop()
		}
	}()
	<-ctx.Done()
	_ = server.Close()
	// Stopping the kubelet stops what it runs (the tier's end): every pod's processes and sandbox.
	k.mu.Lock()
	workers := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		workers = append(workers, w)
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func(w *podWorker) { defer wg.Done(); w.kill() }(w)
	}
	wg.Wait()
	return nil
}

func (k *kubelet) podChanged(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok || !k.images.runnable(pod) {
		return
	}
	k.mu.Lock()
	if k.finished[pod.UID] {
		k.mu.Unlock()
		return
	}
	w, exists := k.workers[pod.UID]
	if !exists {
		w = newPodWorker(k, pod)
		k.workers[pod.UID] = w
		go func() {
			w.run()
			k.mu.Lock()
			delete(k.workers, pod.UID)
			k.finished[pod.UID] = true
			k.mu.Unlock()
		}()
	}
	k.mu.Unlock()
	if exists {
		w.update(pod)
	}
}

func (k *kubelet) podRemoved(pod *v1.Pod) {
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w != nil {
		w.remove()
	}
}

// worker finds a running pod by namespace and name.
func (k *kubelet) worker(namespace, name string) *podWorker {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range k.workers {
		pod := w.current()
		if pod.Namespace == namespace && pod.Name == name {
			return w
		}
	}
	return nil
}
