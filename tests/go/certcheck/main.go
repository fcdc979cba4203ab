// certcheck parses the stack's certificates the way istiod and kube-apiserver do: with Go's crypto/x509
// and crypto/tls, which are stricter than OpenSSL and Node (a '_' in a PrintableString, for one, makes
// x509.ParseCertificate fail). It reads one JSON object on stdin and prints one JSON report on stdout:
//
//	in:  {"root": PEM, "intermediate": PEM, "intermediateKey": PEM, "certChain": PEM,
//	      "serving": PEM, "servingKey": PEM, "dnsNames": [...]}
//	out: {"checks": [{"name": "...", "ok": true|false, "error": "..."}], "subjects": {...}}
//
// Exit 0 when every check passed, 1 otherwise, 2 on bad input.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

type input struct {
	Root            string   `json:"root"`
	Intermediate    string   `json:"intermediate"`
	IntermediateKey string   `json:"intermediateKey"`
	CertChain       string   `json:"certChain"`
	Serving         string   `json:"serving"`
	ServingKey      string   `json:"servingKey"`
	DNSNames        []string `json:"dnsNames"`
}

type check struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type report struct {
	Checks   []check           `json:"checks"`
	Subjects map[string]string `json:"subjects"`
}

func parseAll(text string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no CERTIFICATE block")
	}
	return certs, nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "certcheck: bad input:", err)
		os.Exit(2)
	}
	out := report{Subjects: map[string]string{}}
	record := func(name string, err error) bool {
		c := check{Name: name, OK: err == nil}
		if err != nil {
			c.Error = err.Error()
		}
		out.Checks = append(out.Checks, c)
		return err == nil
	}

	parsed := map[string][]*x509.Certificate{}
	for _, item := range []struct{ name, pem string }{
		{"root", in.Root}, {"intermediate", in.Intermediate}, {"certChain", in.CertChain}, {"serving", in.Serving},
	} {
		certs, err := parseAll(item.pem)
		if record("parse "+item.name, err) {
			parsed[item.name] = certs
			out.Subjects[item.name] = certs[0].Subject.String()
		}
	}
	// What istiod does with cacerts and istiod-tls: tls.X509KeyPair parses the certificate and the key and
	// checks that they belong together.
	_, err := tls.X509KeyPair([]byte(in.Intermediate), []byte(in.IntermediateKey))
	record("key pair intermediate", err)
	_, err = tls.X509KeyPair([]byte(in.Serving), []byte(in.ServingKey))
	record("key pair serving", err)

	if root, ok := parsed["root"]; ok {
		roots := x509.NewCertPool()
		roots.AddCert(root[0])
		if inter, ok := parsed["intermediate"]; ok {
			_, err := inter[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			record("intermediate chains to root", err)
			if !inter[0].IsCA {
				record("intermediate is a CA", fmt.Errorf("basicConstraints CA is false"))
			} else {
				record("intermediate is a CA", nil)
			}
		}
		if serving, ok := parsed["serving"]; ok {
			// The API server calling the webhook: the caBundle is the only root, the name is the Service's.
			for _, name := range in.DNSNames {
				_, err := serving[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				record("serving verifies for "+name, err)
			}
		}
	}

	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(2)
	}
	for _, c := range out.Checks {
		if !c.OK {
			os.Exit(1)
		}
	}
}
