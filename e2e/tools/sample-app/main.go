// sample-app: our stand-in for Istio's bookinfo sample apps (the images
// registry.istio.io/release/examples-bookinfo-{details-v1,ratings-v1,reviews-v1,reviews-v2,reviews-v3,
// productpage-v1}:1.20.3), run by the real test tier as the process of those containers. One binary,
// one app per process, chosen by its first argument or $SAMPLE_APP: details, ratings, reviews-v1,
// reviews-v2, reviews-v3, productpage (or the image's name itself). Standard library only.
//
// It answers what the mesh checks and a browser need, as bookinfo's own apps (samples/bookinfo/src in
// istio.io/istio) answer it: details' /details/<id>, ratings' /ratings/<id>, reviews' /reviews/<id> (v1
// without ratings; v2 and v3 ask ratings and add black or red stars), productpage's /productpage page
// (title "Simple Bookstore App") built from details and reviews, and each app's /health. Calls to other
// apps are plain HTTP to the bookinfo Service names (through the pod's sidecar in the tier), with the
// request headers bookinfo forwards passed on and bookinfo's own timeouts. One line per request on stdout.
//
//	sample-app [flags] APP
//	  -addr ADDR          listen address (default :9080, bookinfo's port)
//	  -details-url URL    base URL of details (default http://details:9080, from bookinfo's env
//	  -reviews-url URL      DETAILS_HOSTNAME, SERVICES_DOMAIN, DETAILS_SERVICE_PORT and the like)
//	  -ratings-url URL
//	  -timeout D          timeout of every upstream call (default: bookinfo's, 3s for productpage's,
//	                      10s for reviews-v2's and 2.5s for reviews-v3's)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sample-app:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sample-app", flag.ContinueOnError)
	addr := fs.String("addr", ":9080", "listen address")
	cfg := Config{
		DetailsURL: serviceURL("DETAILS"),
		ReviewsURL: serviceURL("REVIEWS"),
		RatingsURL: serviceURL("RATINGS"),
	}
	fs.StringVar(&cfg.DetailsURL, "details-url", cfg.DetailsURL, "base URL of the details app")
	fs.StringVar(&cfg.ReviewsURL, "reviews-url", cfg.ReviewsURL, "base URL of the reviews app")
	fs.StringVar(&cfg.RatingsURL, "ratings-url", cfg.RatingsURL, "base URL of the ratings app")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "timeout of every upstream call (0: bookinfo's own)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sample-app [flags] APP (details, ratings, reviews-v1, reviews-v2, reviews-v3, productpage; or $SAMPLE_APP)\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after the app's name.
	if err := fs.Parse(args); err != nil {
		return err
	}
	name := os.Getenv("SAMPLE_APP")
	if fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments %q", fs.Args())
		}
	}
	if name == "" {
		fs.Usage()
		return errors.New("no app named")
	}
	app, err := ParseApp(name)
	if err != nil {
		return err
	}
	cfg.App = app
	cfg.PodName = podName()
	cfg.ClusterName = os.Getenv("CLUSTER_NAME")
	handler := NewHandler(cfg, log.New(os.Stdout, "", log.LstdFlags|log.Lmicroseconds))

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	fmt.Printf("sample-app: %s listening on %s\n", app, listener.Addr())
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serviceURL is the base URL bookinfo's apps build for a Service from their environment:
// http://<NAME_HOSTNAME or name><.SERVICES_DOMAIN>:<NAME_SERVICE_PORT or 9080>.
func serviceURL(upper string) string {
	host := os.Getenv(upper + "_HOSTNAME")
	if host == "" {
		host = strings.ToLower(upper)
	}
	if domain := os.Getenv("SERVICES_DOMAIN"); domain != "" {
		host += "." + domain
	}
	port := os.Getenv(upper + "_SERVICE_PORT")
	if port == "" {
		port = "9080"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// podName is what reviews reports as "podname": $HOSTNAME, as the real (Java) app reads it, or the
// host name of the process's UTS namespace.
func podName() string {
	if name := os.Getenv("HOSTNAME"); name != "" {
		return name
	}
	if name, err := os.Hostname(); err == nil {
		return name
	}
	return ""
}
