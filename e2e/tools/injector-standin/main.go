// injector-standin answers the API server's calls to the sidecar-injector webhook the way istiod's
// /inject does in shape: an AdmissionReview v1 in, an allowed response with a JSONPatch that adds a
// container named istio-proxy out. On /validate (the path of Istio's validating webhooks) it allows
// every object and records it. It stands in for istiod (which cannot be built from the module proxy at
// Istio 1.30.3) in the real-API-server test, so that what is real there is the API server's side: the
// program's MutatingWebhookConfiguration (selectors, Service, path, failurePolicy) and its caBundle, checked
// by the API server's own TLS client against the program's serving certificate, served from here.
//
//	injector-standin -cert tls.crt -key tls.key -addr :443 -calls calls.log
//
// Each /inject call appends "namespace generateName-or-name" to the calls file, each /validate call
// "validate Kind namespace/name". Standard library only.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
)

type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

type admissionRequest struct {
	UID       string          `json:"uid"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Object    json.RawMessage `json:"object"`
}

type admissionResponse struct {
	UID       string `json:"uid"`
	Allowed   bool   `json:"allowed"`
	PatchType string `json:"patchType,omitempty"`
	Patch     []byte `json:"patch,omitempty"` // encoding/json writes []byte as base64, as the API expects
}

type pod struct {
	Metadata struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
}

func main() {
	certFile := flag.String("cert", "", "serving certificate (PEM)")
	keyFile := flag.String("key", "", "serving key (PEM)")
	addr := flag.String("addr", ":443", "listen address")
	callsFile := flag.String("calls", "", "file to append one line per call to")
	flag.Parse()

	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("injector-standin: %v", err)
	}
	var mu sync.Mutex
	record := func(line string) {
		if *callsFile == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(*callsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			log.Printf("injector-standin: %v", err)
			return
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/inject", func(w http.ResponseWriter, r *http.Request) {
		var review admissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		var p pod
		_ = json.Unmarshal(review.Request.Object, &p)
		name := p.Metadata.Name
		if name == "" {
			name = p.Metadata.GenerateName
		}
		record(review.Request.Namespace + " " + name)
		patch := `[{"op":"add","path":"/spec/containers/-","value":{"name":"istio-proxy","image":"docker.io/istio/proxyv2:1.30.3"}}]`
		review.Response = &admissionResponse{UID: review.Request.UID, Allowed: true, PatchType: "JSONPatch", Patch: []byte(patch)}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		var review admissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		var object struct {
			Kind string `json:"kind"`
		}
		_ = json.Unmarshal(review.Request.Object, &object)
		record("validate " + object.Kind + " " + review.Request.Namespace + "/" + review.Request.Name)
		review.Response = &admissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })

	server := &http.Server{Addr: *addr, Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	log.Printf("injector-standin: serving on %s", *addr)
	log.Fatal(server.ListenAndServeTLS("", ""))
}
