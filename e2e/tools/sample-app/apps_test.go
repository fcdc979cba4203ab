package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve starts app on an httptest server and returns it with its log.
func serve(t *testing.T, cfg Config) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs syncBuffer
	server := httptest.NewServer(NewHandler(cfg, log.New(&logs, "", 0)))
	t.Cleanup(server.Close)
	return server, &logs.buf
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func get(t *testing.T, url string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

func assertJSON(t *testing.T, body, want string) {
	t.Helper()
	var got, expected any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("not JSON: %q: %v", body, err)
	}
	if err := json.Unmarshal([]byte(want), &expected); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(expected)
	if !bytes.Equal(g, e) {
		t.Fatalf("got %s\nwant %s", g, e)
	}
}

func TestParseApp(t *testing.T) {
	for name, want := range map[string]App{
		"details":     Details,
		"ratings-v1":  Ratings,
		"reviews":     ReviewsV1,
		"reviews-v3":  ReviewsV3,
		"productpage": ProductPage,
		"registry.istio.io/release/examples-bookinfo-details-v1:1.20.3":     Details,
		"registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3":     ReviewsV2,
		"registry.istio.io/release/examples-bookinfo-productpage-v1:1.20.3": ProductPage,
		"docker.io/istio/examples-bookinfo-ratings-v1@sha256:abc":           Ratings,
	} {
		if got, err := ParseApp(name); err != nil || got != want {
			t.Errorf("ParseApp(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"", "ratings-v2", "mongodb", "examples-bookinfo-details-v2"} {
		if _, err := ParseApp(name); err == nil {
			t.Errorf("ParseApp(%q) accepted", name)
		}
	}
}

func TestDetails(t *testing.T) {
	server, logs := serve(t, Config{App: Details})
	status, header, body := get(t, server.URL+"/details/0", map[string]string{
		"x-request-id": "req-1",
		// As the server's sidecar sets it for a client that came over mutual TLS.
		"x-forwarded-client-cert": `By=spiffe://cluster.local/ns/default/sa/bookinfo-details;Hash=ab12;Subject="";URI=spiffe://cluster.local/ns/default/sa/bookinfo-productpage`,
	})
	if status != 200 || header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", status, header.Get("Content-Type"))
	}
	assertJSON(t, body, `{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,
		"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`)
	if !strings.HasPrefix(body, `{"id":0,"author":`) {
		t.Errorf("fields out of details.rb's order: %s", body)
	}
	status, _, body = get(t, server.URL+"/details/abc", nil)
	if status != 400 {
		t.Errorf("non-numeric id: status %d", status)
	}
	assertJSON(t, body, `{"error":"please provide numeric product id"}`)
	status, _, body = get(t, server.URL+"/health", nil)
	if status != 200 {
		t.Errorf("health: %d", status)
	}
	assertJSON(t, body, `{"status":"Details is healthy"}`)
	if status, _, _ := get(t, server.URL+"/reviews/0", nil); status != 404 {
		t.Errorf("details answers /reviews/0: %d", status)
	}
	if !regexp.MustCompile(`(?m)^details GET /details/0 200 \S+ x-request-id=req-1 peer=spiffe://cluster.local/ns/default/sa/bookinfo-productpage$`).MatchString(logs.String()) {
		t.Errorf("no log line for the request:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "\n"); n != 4 {
		t.Errorf("%d log lines for 4 requests:\n%s", n, logs)
	}
}

func TestRatings(t *testing.T) {
	server, _ := serve(t, Config{App: Ratings})
	status, _, body := get(t, server.URL+"/ratings/7", nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	assertJSON(t, body, `{"id":7,"ratings":{"Reviewer1":5,"Reviewer2":4}}`)
	if status, _, _ := get(t, server.URL+"/ratings/x", nil); status != 400 {
		t.Errorf("non-numeric id: %d", status)
	}
	res, err := http.Post(server.URL+"/ratings/7", "application/json", strings.NewReader(`{"Reviewer1":1,"Reviewer2":2}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST: %d", res.StatusCode)
	}
	_, _, body = get(t, server.URL+"/ratings/7", nil)
	assertJSON(t, body, `{"id":7,"ratings":{"Reviewer1":1,"Reviewer2":2}}`)
	_, _, body = get(t, server.URL+"/ratings/8", nil)
	assertJSON(t, body, `{"id":8,"ratings":{"Reviewer1":5,"Reviewer2":4}}`)
	_, _, body = get(t, server.URL+"/health", nil)
	assertJSON(t, body, `{"status":"Ratings is healthy"}`)
}

// fakeApp is an upstream that records the headers it got and answers with status and body.
type fakeApp struct {
	mu      sync.Mutex
	headers []http.Header
	paths   []string
}

func (f *fakeApp) start(t *testing.T, status int, body string) *httptest.Server {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.headers = append(f.headers, r.Header.Clone())
		f.paths = append(f.paths, r.URL.Path)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(server.Close)
	return server
}

func (f *fakeApp) calls() ([]string, []http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...), append([]http.Header(nil), f.headers...)
}

// downURL is the URL of a server that is gone: its calls fail to connect.
func downURL(t *testing.T) string {
	server := httptest.NewServer(http.NotFoundHandler())
	server.Close()
	return server.URL
}

func TestReviewsV1HasNoRatings(t *testing.T) {
	var ratings fakeApp
	ratingsServer := ratings.start(t, 200, `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`)
	server, _ := serve(t, Config{App: ReviewsV1, RatingsURL: ratingsServer.URL, PodName: "reviews-v1-abc"})
	status, _, body := get(t, server.URL+"/reviews/0", nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	assertJSON(t, body, `{"id":"0","podname":"reviews-v1-abc","clustername":"null","reviews":[
		{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"},
		{"reviewer":"Reviewer2","text":"Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare."}]}`)
	if paths, _ := ratings.calls(); len(paths) != 0 {
		t.Errorf("reviews-v1 called ratings: %v", paths)
	}
	_, _, body = get(t, server.URL+"/health", nil)
	assertJSON(t, body, `{"status":"Reviews is healthy"}`)
	if status, _, _ := get(t, server.URL+"/reviews/x", nil); status != 404 {
		t.Errorf("non-numeric id: %d", status)
	}
}

func TestReviewsWithRatings(t *testing.T) {
	for app, color := range map[App]string{ReviewsV2: "black", ReviewsV3: "red"} {
		t.Run(string(app), func(t *testing.T) {
			var ratings fakeApp
			ratingsServer := ratings.start(t, 200, `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`)
			server, _ := serve(t, Config{App: app, RatingsURL: ratingsServer.URL, PodName: "p", ClusterName: "c1"})
			_, _, body := get(t, server.URL+"/reviews/0", map[string]string{
				"x-request-id": "req-9", "x-b3-traceid": "abc", "traceparent": "00-t-s-01", "end-user": "jason", "x-other": "no",
			})
			assertJSON(t, body, `{"id":"0","podname":"p","clustername":"c1","reviews":[
				{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!","rating":{"stars":5,"color":"`+color+`"}},
				{"reviewer":"Reviewer2","text":"Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.","rating":{"stars":4,"color":"`+color+`"}}]}`)
			paths, headers := ratings.calls()
			if len(paths) != 1 || paths[0] != "/ratings/0" {
				t.Fatalf("ratings calls: %v", paths)
			}
			for name, want := range map[string]string{"x-request-id": "req-9", "x-b3-traceid": "abc", "traceparent": "00-t-s-01", "end-user": "jason", "x-other": ""} {
				if got := headers[0].Get(name); got != want {
					t.Errorf("ratings got %s %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestReviewsWhenRatingsFail(t *testing.T) {
	var ratings fakeApp
	for _, ratingsURL := range []string{ratings.start(t, 503, `{"error":"Service unavailable"}`).URL, downURL(t)} {
		server, logs := serve(t, Config{App: ReviewsV2, RatingsURL: ratingsURL})
		status, _, body := get(t, server.URL+"/reviews/0", nil)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		var answer reviewsAnswer
		if err := json.Unmarshal([]byte(body), &answer); err != nil {
			t.Fatal(err)
		}
		for _, r := range answer.Reviews {
			if r.Rating == nil || r.Rating.Error != "Ratings service is currently unavailable" || r.Rating.Stars != 0 {
				t.Errorf("rating %+v", r.Rating)
			}
		}
		if !strings.Contains(logs.String(), "unable to contact") {
			t.Errorf("no error logged:\n%s", logs)
		}
	}
}

func TestProductPage(t *testing.T) {
	var details, reviews fakeApp
	detailsServer := details.start(t, 200, `{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`)
	reviewsServer := reviews.start(t, 200, `{"id":"0","podname":"reviews-v3-xyz","clustername":"null","reviews":[
		{"reviewer":"Reviewer1","text":"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!","rating":{"stars":5,"color":"red"}},
		{"reviewer":"Reviewer2","text":"Absolutely fun and entertaining.","rating":{"stars":4,"color":"red"}}]}`)
	server, logs := serve(t, Config{App: ProductPage, DetailsURL: detailsServer.URL, ReviewsURL: reviewsServer.URL, RatingsURL: downURL(t)})

	in := map[string]string{
		"x-request-id": "req-42", "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7", "x-b3-spanid": "e457b5a2e4d86bd1",
		"x-b3-sampled": "1", "b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"user-agent": "browser/1.0", "end-user": "forged", "x-not-forwarded": "1",
	}
	status, header, body := get(t, server.URL+"/productpage", in)
	if status != 200 || !strings.HasPrefix(header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", status, header.Get("Content-Type"))
	}
	for _, want := range []string{
		"<title>Simple Bookstore App</title>", "The Comedy of Errors", "<b>William Shakespeare's</b>", "Book Details",
		"<td>1234567890</td><td>PublisherA</td><td>200</td><td>paperback</td><td>English</td>", "Book Reviews",
		"An extremely entertaining play by Shakespeare.", "Reviews served by: reviews-v3-xyz", `<div class="red">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(body, `glyphicon glyphicon-star"`); n != 9 {
		t.Errorf("%d full stars, want 9", n)
	}
	if strings.Contains(body, "on cluster") || strings.Contains(body, "Error fetching") {
		t.Errorf("page shows a cluster or an error:\n%s", body)
	}
	for name, app := range map[string]*fakeApp{"details": &details, "reviews": &reviews} {
		paths, headers := app.calls()
		if len(paths) != 1 || paths[0] != "/"+name+"/0" {
			t.Fatalf("%s calls: %v", name, paths)
		}
		for k, v := range in {
			want := v
			if k == "end-user" || k == "x-not-forwarded" {
				want = "" // productpage sends its session's user only
			}
			if got := headers[0].Get(k); got != want {
				t.Errorf("%s got %s %q, want %q", name, k, got, want)
			}
		}
	}
	if !strings.Contains(logs.String(), "productpage GET /productpage 200 ") {
		t.Errorf("no log line:\n%s", logs)
	}
}

func TestProductPageWhenUpstreamsFail(t *testing.T) {
	var reviews fakeApp
	reviewsServer := reviews.start(t, 503, `upstream connect error or disconnect/reset before headers`)
	server, logs := serve(t, Config{App: ProductPage, DetailsURL: downURL(t), ReviewsURL: reviewsServer.URL, Timeout: time.Second})
	status, _, body := get(t, server.URL+"/productpage", nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		"<title>Simple Bookstore App</title>", "The Comedy of Errors",
		"Error fetching product details", "Sorry, product details are currently unavailable for this book.",
		"Error fetching product reviews", "Sorry, product reviews are currently unavailable for this book.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if paths, _ := reviews.calls(); len(paths) != 2 {
		t.Errorf("reviews tried %d times, want 2 (as productpage.py)", len(paths))
	}
	if !strings.Contains(logs.String(), "error: details") {
		t.Errorf("no error logged:\n%s", logs)
	}
	// The API gives the upstream's status, or 500 without an answer.
	if status, _, body := get(t, server.URL+"/api/v1/products/0/reviews", nil); status != 503 || !strings.Contains(body, "Sorry, product reviews") {
		t.Errorf("reviews API: %d %s", status, body)
	}
	if status, _, _ := get(t, server.URL+"/api/v1/products/0", nil); status != 500 {
		t.Errorf("details API: %d", status)
	}
}

func TestProductPageTimesOut(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	server, _ := serve(t, Config{App: ProductPage, DetailsURL: slow.URL, ReviewsURL: slow.URL, Timeout: 100 * time.Millisecond})
	started := time.Now()
	_, _, body := get(t, server.URL+"/productpage", nil)
	if elapsed := time.Since(started); elapsed > 2*time.Second {
		t.Errorf("took %s", elapsed)
	}
	if !strings.Contains(body, "Sorry, product details are currently unavailable") {
		t.Errorf("no details error:\n%s", body)
	}
}

func TestProductPageSignIn(t *testing.T) {
	var details, reviews fakeApp
	detailsServer := details.start(t, 200, `{"id":0}`)
	reviewsServer := reviews.start(t, 200, `{"id":"0","reviews":[]}`)
	server, _ := serve(t, Config{App: ProductPage, DetailsURL: detailsServer.URL, ReviewsURL: reviewsServer.URL})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, server.URL+"/login", strings.NewReader("username=jason&passwd=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", server.URL+"/productpage")
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != server.URL+"/productpage" || len(res.Cookies()) != 1 {
		t.Fatalf("login: %d %q %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
	cookie := res.Cookies()[0]
	_, _, body := get(t, server.URL+"/productpage", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if !strings.Contains(body, "jason") || !strings.Contains(body, `href="logout"`) {
		t.Errorf("page does not show the user:\n%s", body)
	}
	for name, app := range map[string]*fakeApp{"details": &details, "reviews": &reviews} {
		if _, headers := app.calls(); len(headers) != 1 || headers[0].Get("end-user") != "jason" {
			t.Errorf("%s did not get end-user jason: %v", name, headers)
		}
	}
}

func TestProductPageOtherPaths(t *testing.T) {
	server, _ := serve(t, Config{App: ProductPage, DetailsURL: "http://details:9080", ReviewsURL: "http://reviews:9080", RatingsURL: "http://ratings:9080"})
	status, _, body := get(t, server.URL+"/health", nil)
	if status != 200 || body != "Product page is healthy" {
		t.Errorf("health: %d %q", status, body)
	}
	for _, path := range []string{"/", "/index.html"} {
		status, _, body := get(t, server.URL+path, nil)
		if status != 200 || !strings.Contains(body, "simple bookstore application") || !strings.Contains(body, "http://reviews:9080") ||
			!strings.Contains(body, `href="/productpage?u=normal"`) {
			t.Errorf("%s: %d\n%s", path, status, body)
		}
	}
	_, _, body = get(t, server.URL+"/api/v1/products", nil)
	assertJSON(t, body, `[{"id":0,"title":"The Comedy of Errors","descriptionHtml":`+mustJSON(string(theProduct.DescriptionHTML))+`}]`)
	if status, _, _ := get(t, server.URL+"/nothing", nil); status != 404 {
		t.Errorf("/nothing: %d", status)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestServiceURL(t *testing.T) {
	t.Setenv("DETAILS_HOSTNAME", "")
	t.Setenv("DETAILS_SERVICE_PORT", "")
	t.Setenv("SERVICES_DOMAIN", "")
	if got := serviceURL("DETAILS"); got != "http://details:9080" {
		t.Errorf("default: %s", got)
	}
	t.Setenv("REVIEWS_HOSTNAME", "reviews-canary")
	t.Setenv("REVIEWS_SERVICE_PORT", "9081")
	t.Setenv("SERVICES_DOMAIN", "default.svc.cluster.local")
	if got := serviceURL("REVIEWS"); got != "http://reviews-canary.default.svc.cluster.local:9081" {
		t.Errorf("from the env: %s", got)
	}
}
