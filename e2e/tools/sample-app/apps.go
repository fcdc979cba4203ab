package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// App is one of bookinfo's apps.
type App string

const (
	Details     App = "details"
	Ratings     App = "ratings"
	ReviewsV1   App = "reviews-v1"
	ReviewsV2   App = "reviews-v2"
	ReviewsV3   App = "reviews-v3"
	ProductPage App = "productpage"
)

// ParseApp takes an app's name, or the name of its bookinfo image
// (registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3, say).
func ParseApp(name string) (App, error) {
	short := name
	if i := strings.LastIndex(short, "/"); i >= 0 {
		short = short[i+1:]
	}
	if i := strings.IndexAny(short, ":@"); i >= 0 {
		short = short[:i]
	}
	short = strings.TrimPrefix(short, "examples-bookinfo-")
	switch short {
	case "details", "details-v1":
		return Details, nil
	case "ratings", "ratings-v1":
		return Ratings, nil
	case "reviews", "reviews-v1":
		return ReviewsV1, nil
	case "reviews-v2":
		return ReviewsV2, nil
	case "reviews-v3":
		return ReviewsV3, nil
	case "productpage", "productpage-v1":
		return ProductPage, nil
	}
	return "", fmt.Errorf("unknown app %q (details, ratings, reviews-v1, reviews-v2, reviews-v3, productpage)", name)
}

// Config is what an app needs besides its name.
type Config struct {
	App                                App
	DetailsURL, ReviewsURL, RatingsURL string        // base URLs, http://details:9080 and so on
	Timeout                            time.Duration // of every upstream call; 0: bookinfo's own
	PodName, ClusterName               string        // what reviews reports ("podname", "clustername")
}

// forwardedHeaders are the request headers bookinfo's apps pass on to the apps they call (details.rb,
// LibertyRestEndpoint.java and productpage.py keep the same list; productpage sends its session's user
// as end-user instead of the one it got). b3 is the single-header form of x-b3-*, which productpage's
// B3 propagator would also carry.
var forwardedHeaders = []string{
	"x-request-id", "x-ot-span-context",
	"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
	"traceparent", "tracestate", "x-cloud-trace-context", "grpc-trace-bin",
	"x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3",
	"sw8", "end-user", "user-agent", "cookie", "authorization", "jwt",
}

// forwardHeaders copies the headers to pass on from an incoming request.
func forwardHeaders(r *http.Request) http.Header {
	out := http.Header{}
	for _, name := range forwardedHeaders {
		if values := r.Header.Values(name); len(values) > 0 {
			out[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
		}
	}
	return out
}

// client calls the other apps: plain HTTP to the Service names, never through an HTTP proxy of the
// environment (the pod's sidecar is the proxy), a new connection per call as bookinfo's productpage
// makes (its requests are not pooled, so that load spreads across versions).
var client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// getJSON GETs base+path with the forwarded headers and decodes a 200 answer's JSON into out. It returns
// the status (0 when there was no answer) and an error for anything but a 200 with valid JSON.
func getJSON(ctx context.Context, timeout time.Duration, base, path string, headers http.Header, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
	if err != nil {
		return 0, err
	}
	for name, values := range headers {
		req.Header[name] = values
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, fmt.Errorf("%s%s: status %d", base, path, res.StatusCode)
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	if err := decoder.Decode(out); err != nil {
		return res.StatusCode, fmt.Errorf("%s%s: %w", base, path, err)
	}
	return res.StatusCode, nil
}

// NewHandler is the app's HTTP handler, logging one line per request to logger.
func NewHandler(cfg Config, logger *log.Logger) http.Handler {
	mux := http.NewServeMux()
	switch cfg.App {
	case Details:
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "Details is healthy"})
		})
		mux.HandleFunc("/details/{id}", details)
	case Ratings:
		ratings := &ratingsApp{added: map[int]json.RawMessage{}}
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "Ratings is healthy"})
		})
		mux.HandleFunc("GET /ratings/{id}", ratings.get)
		mux.HandleFunc("POST /ratings/{id}", ratings.post)
	case ReviewsV1, ReviewsV2, ReviewsV3:
		reviews := newReviewsApp(cfg, logger)
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "Reviews is healthy"})
		})
		mux.HandleFunc("GET /reviews/{id}", reviews.get)
	case ProductPage:
		newProductPage(cfg, logger).routes(mux)
	}
	return logRequests(string(cfg.App), mux, logger)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// bookDetails is details' answer, its fields in details.rb's order.
type bookDetails struct {
	ID        int    `json:"id"`
	Author    string `json:"author"`
	Year      int    `json:"year"`
	Type      string `json:"type"`
	Pages     int    `json:"pages"`
	Publisher string `json:"publisher"`
	Language  string `json:"language"`
	ISBN10    string `json:"ISBN-10"`
	ISBN13    string `json:"ISBN-13"`
}

func details(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product id"})
		return
	}
	writeJSON(w, http.StatusOK, bookDetails{
		ID: id, Author: "William Shakespeare", Year: 1595, Type: "paperback", Pages: 200,
		Publisher: "PublisherA", Language: "English", ISBN10: "1234567890", ISBN13: "123-1234567890",
	})
}

// ratingsApp is ratings v1: fixed ratings, or the ones POSTed for a product, kept in memory.
type ratingsApp struct {
	mu    sync.Mutex
	added map[int]json.RawMessage
}

type ratingsAnswer struct {
	ID      int             `json:"id"`
	Ratings json.RawMessage `json:"ratings"`
}

func (a *ratingsApp) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product ID"})
		return
	}
	writeJSON(w, http.StatusOK, ratingsAnswer{ID: id, Ratings: a.ratings(id)})
}

func (a *ratingsApp) post(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product ID"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide valid ratings JSON"})
		return
	}
	a.mu.Lock()
	a.added[id] = json.RawMessage(body)
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, ratingsAnswer{ID: id, Ratings: a.ratings(id)})
}

func (a *ratingsApp) ratings(id int) json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	if added, ok := a.added[id]; ok {
		return added
	}
	return json.RawMessage(`{"Reviewer1":5,"Reviewer2":4}`)
}

// reviewsApp is reviews v1 (no ratings), v2 (black stars) or v3 (red stars), as the images' build
// arguments set ENABLE_RATINGS and STAR_COLOR.
type reviewsApp struct {
	cfg            Config
	logger         *log.Logger
	ratingsEnabled bool
	starColor      string
	timeout        time.Duration
}

func newReviewsApp(cfg Config, logger *log.Logger) *reviewsApp {
	a := &reviewsApp{cfg: cfg, logger: logger, ratingsEnabled: cfg.App != ReviewsV1, starColor: "black"}
	if cfg.App == ReviewsV3 {
		a.starColor = "red"
	}
	// LibertyRestEndpoint.java: 10 s with black stars, 2.5 s otherwise.
	a.timeout = 10 * time.Second
	if a.starColor != "black" {
		a.timeout = 2500 * time.Millisecond
	}
	if cfg.Timeout > 0 {
		a.timeout = cfg.Timeout
	}
	return a
}

type rating struct {
	Stars int    `json:"stars,omitempty"`
	Color string `json:"color,omitempty"`
	Error string `json:"error,omitempty"`
}

type review struct {
	Reviewer string  `json:"reviewer"`
	Text     string  `json:"text"`
	Rating   *rating `json:"rating,omitempty"`
}

// reviewsAnswer is reviews' answer; the Java app writes "null" for an unset pod or cluster name.
type reviewsAnswer struct {
	ID          string   `json:"id"`
	PodName     string   `json:"podname"`
	ClusterName string   `json:"clustername"`
	Reviews     []review `json:"reviews"`
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func (a *reviewsApp) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r) // JAX-RS: an int path parameter that is not one matches no resource
		return
	}
	answer := reviewsAnswer{
		ID: strconv.Itoa(id), PodName: orNull(a.cfg.PodName), ClusterName: orNull(a.cfg.ClusterName),
		Reviews: []review{
			{Reviewer: "Reviewer1", Text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"},
			{Reviewer: "Reviewer2", Text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare."},
		},
	}
	if a.ratingsEnabled {
		stars := [2]int{-1, -1}
		var got struct {
			Ratings map[string]json.Number `json:"ratings"`
		}
		if _, err := getJSON(r.Context(), a.timeout, a.cfg.RatingsURL, "/ratings/"+strconv.Itoa(id), forwardHeaders(r), &got); err != nil {
			a.logger.Printf("%s error: unable to contact %s/ratings: %v", a.cfg.App, a.cfg.RatingsURL, err)
		} else {
			for i, name := range []string{"Reviewer1", "Reviewer2"} {
				if n, err := got.Ratings[name].Int64(); err == nil {
					stars[i] = int(n)
				}
			}
		}
		for i := range answer.Reviews {
			if stars[i] != -1 {
				answer.Reviews[i].Rating = &rating{Stars: stars[i], Color: a.starColor}
			} else {
				answer.Reviews[i].Rating = &rating{Error: "Ratings service is currently unavailable"}
			}
		}
	}
	writeJSON(w, http.StatusOK, answer)
}

// statusRecorder keeps the status a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// peerOf is the client's identity as the server's sidecar passes it on: the URI of the first element of
// x-forwarded-client-cert (Envoy sets it on a request that came over mutual TLS), else "-".
func peerOf(r *http.Request) string {
	for _, field := range strings.Split(strings.Split(r.Header.Get("x-forwarded-client-cert"), ",")[0], ";") {
		if uri, ok := strings.CutPrefix(strings.TrimSpace(field), "URI="); ok && uri != "" {
			return uri
		}
	}
	return "-"
}

// logRequests logs one line per request: app, method, path, status, duration, x-request-id, and the peer
// identity the sidecar vouches for (peerOf; not in bookinfo's own apps: the tier reads it from the log).
func logRequests(app string, next http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		requestID := r.Header.Get("x-request-id")
		if requestID == "" {
			requestID = "-"
		}
		logger.Printf("%s %s %s %d %s x-request-id=%s peer=%s", app, r.Method, r.URL.RequestURI(), rec.status,
			time.Since(started).Round(time.Microsecond), requestID, peerOf(r))
	})
}
