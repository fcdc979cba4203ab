package main

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"strconv"
	"time"
)

// productPage is productpage v1 (productpage.py): the page, its API, and a sign-in that only remembers
// the user's name, which it sends to details and reviews as end-user (the header Istio's request-routing
// task matches on).
type productPage struct {
	cfg     Config
	logger  *log.Logger
	timeout time.Duration
}

func newProductPage(cfg Config, logger *log.Logger) *productPage {
	p := &productPage{cfg: cfg, logger: logger, timeout: 3 * time.Second} // productpage.py: timeout=3.0
	if cfg.Timeout > 0 {
		p.timeout = cfg.Timeout
	}
	return p
}

func (p *productPage) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /index.html", p.index)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("Product page is healthy"))
	})
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /logout", p.logout)
	mux.HandleFunc("GET /productpage", p.page)
	mux.HandleFunc("GET /api/v1/products", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []product{theProduct})
	})
	mux.HandleFunc("GET /api/v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		status, body := p.details(r, r.PathValue("id"))
		writeJSON(w, status, body)
	})
	mux.HandleFunc("GET /api/v1/products/{id}/reviews", func(w http.ResponseWriter, r *http.Request) {
		status, body := p.reviews(r, r.PathValue("id"))
		writeJSON(w, status, body)
	})
	mux.HandleFunc("GET /api/v1/products/{id}/ratings", func(w http.ResponseWriter, r *http.Request) {
		status, body := p.ratings(r, r.PathValue("id"))
		writeJSON(w, status, body)
	})
}

type product struct {
	ID              int           `json:"id"`
	Title           string        `json:"title"`
	DescriptionHTML template.HTML `json:"descriptionHtml"`
}

var theProduct = product{
	ID:              0,
	Title:           "The Comedy of Errors",
	DescriptionHTML: `<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.`,
}

// The signed-in user's name, in a cookie named as Flask's session cookie (not signed: a stand-in).
const sessionCookie = "session"

func sessionUser(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	user, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(user)
}

// back is where login and logout send the browser: where it came from, as productpage.py does.
func back(r *http.Request) string {
	if ref := r.Referer(); ref != "" {
		return ref
	}
	return "/productpage"
}

func (p *productPage) login(w http.ResponseWriter, r *http.Request) {
	user := r.FormValue("username")
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(user)), Path: "/", HttpOnly: true})
	http.Redirect(w, r, back(r), http.StatusFound)
}

func (p *productPage) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, back(r), http.StatusFound)
}

// headers are what productpage passes on: the forwarded headers, but end-user from its session.
func (p *productPage) headers(r *http.Request) http.Header {
	h := forwardHeaders(r)
	h.Del("end-user")
	if user := sessionUser(r); user != "" {
		h.Set("end-user", user)
	}
	return h
}

// details, reviews and ratings call the apps as productpage.py does: the status and JSON of a 200, or
// the status (500 without an answer) and bookinfo's error text.
func (p *productPage) details(r *http.Request, id string) (int, any) {
	var body map[string]any
	status, err := getJSON(r.Context(), p.timeout, p.cfg.DetailsURL, "/details/"+id, p.headers(r), &body)
	if err == nil {
		return http.StatusOK, body
	}
	p.logger.Printf("%s error: details: %v", p.cfg.App, err)
	return failed(status), map[string]string{"error": "Sorry, product details are currently unavailable for this book."}
}

func (p *productPage) reviews(r *http.Request, id string) (int, any) {
	var status int
	var err error
	// Two tries, as productpage.py ("Bug introduced explicitly for illustration in fault injection task").
	for range 2 {
		var body reviewsAnswer
		if status, err = getJSON(r.Context(), p.timeout, p.cfg.ReviewsURL, "/reviews/"+id, p.headers(r), &body); err == nil {
			return http.StatusOK, body
		}
		p.logger.Printf("%s error: reviews: %v", p.cfg.App, err)
	}
	return failed(status), map[string]string{"error": "Sorry, product reviews are currently unavailable for this book."}
}

func (p *productPage) ratings(r *http.Request, id string) (int, any) {
	var body map[string]any
	status, err := getJSON(r.Context(), p.timeout, p.cfg.RatingsURL, "/ratings/"+id, p.headers(r), &body)
	if err == nil {
		return http.StatusOK, body
	}
	p.logger.Printf("%s error: ratings: %v", p.cfg.App, err)
	return failed(status), map[string]string{"error": "Sorry, product ratings are currently unavailable for this book."}
}

func failed(status int) int {
	if status == 0 || status == http.StatusOK {
		return http.StatusInternalServerError
	}
	return status
}

// The page's view of a review.
type pageReview struct {
	Reviewer, Text string
	Stars, Empty   []struct{}
	Color          string
	RatingError    string
}

type pageData struct {
	User         string
	Product      product
	DetailsOK    bool
	Details      map[string]any
	DetailsError string
	ReviewsOK    bool
	Reviews      []pageReview
	PodName      string
	ClusterName  string
	ReviewsError string
}

func (p *productPage) page(w http.ResponseWriter, r *http.Request) {
	const id = "0"
	data := pageData{User: sessionUser(r), Product: theProduct}
	switch status, body := p.details(r, id); status {
	case http.StatusOK:
		data.DetailsOK, data.Details = true, body.(map[string]any)
	default:
		data.DetailsError = body.(map[string]string)["error"]
	}
	switch status, body := p.reviews(r, id); status {
	case http.StatusOK:
		answer := body.(reviewsAnswer)
		data.ReviewsOK, data.PodName, data.ClusterName = true, answer.PodName, answer.ClusterName
		for _, rv := range answer.Reviews {
			pr := pageReview{Reviewer: rv.Reviewer, Text: rv.Text}
			if rv.Rating != nil {
				if stars := min(max(rv.Rating.Stars, 0), 5); stars > 0 {
					pr.Stars, pr.Empty, pr.Color = make([]struct{}, stars), make([]struct{}, 5-stars), rv.Rating.Color
				} else {
					pr.RatingError = rv.Rating.Error
				}
			}
			data.Reviews = append(data.Reviews, pr)
		}
	default:
		data.ReviewsError = body.(map[string]string)["error"]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		p.logger.Printf("%s error: page: %v", p.cfg.App, err)
	}
}

func (p *productPage) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTemplate.Execute(w, p.cfg)
}

// str shows a JSON value of details (a json.Number or a string) as text.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

const style = `<style>
body { font-family: sans-serif; margin: 0; color: #111827; }
nav { background: #1f2937; color: white; display: flex; justify-content: space-between; align-items: center; padding: 0.75rem 2rem; }
nav a, nav button { color: white; }
.container { max-width: 64rem; margin: 2rem auto; padding: 0 2rem; }
h1 { color: #1e3a8a; font-size: 2.5rem; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 0.4rem 0.8rem; border-bottom: 1px solid #d1d5db; }
.error { color: #ef4444; font-size: 1.4rem; }
.reviews { background: #eff6ff; padding: 1rem 0; }
.review { margin: 1.5rem 0; } .star { font-size: 1.3rem; }
.black { color: black; } .red { color: #ef4444; }
</style>`

var pageTemplate = template.Must(template.New("productpage").Funcs(template.FuncMap{"str": str}).Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
` + style + `
</head>
<body>
<nav>
  <a href="#">BookInfo Sample</a>
  {{- if .User}}
  <span>{{.User}} <a href="logout">Sign out</a></span>
  {{- else}}
  <form method="post" action="login" name="login_form">
    <input name="username" placeholder="Username" required> <input name="passwd" type="password" placeholder="Password">
    <button type="submit" id="sign-in-button">Sign in</button>
  </form>
  {{- end}}
</nav>

<div class="container">
  <h1>{{.Product.Title}}</h1>
  <p>{{.Product.DescriptionHTML}}</p>
</div>

<div class="container">
  {{- if .DetailsOK}}
  <h4>Book Details</h4>
  <table>
    <thead><tr><th>ISBN-10</th><th>Publisher</th><th>Pages</th><th>Type</th><th>Language</th></tr></thead>
    <tbody><tr><td>{{index .Details "ISBN-10" | str}}</td><td>{{str .Details.publisher}}</td><td>{{str .Details.pages}}</td><td>{{str .Details.type}}</td><td>{{str .Details.language}}</td></tr></tbody>
  </table>
  {{- else}}
  <p class="error">Error fetching product details</p>
  <p>{{.DetailsError}}</p>
  {{- end}}
</div>

<div class="reviews"><div class="container">
  {{- if .ReviewsOK}}
  <h4>Book Reviews</h4>
  {{- range .Reviews}}
  <section class="review">
    {{- if .Stars}}
    <div class="{{.Color}}">{{range .Stars}}<span class="star glyphicon glyphicon-star">&#9733;</span>{{end}}{{range .Empty}}<span class="star glyphicon glyphicon-star-empty">&#9734;</span>{{end}}</div>
    {{- else if .RatingError}}
    <p class="error">{{.RatingError}}</p>
    {{- end}}
    <blockquote><p>"{{.Text}}"</p></blockquote>
    <div><b>{{.Reviewer}}</b></div>
    <div>Reviews served by: {{$.PodName}}{{if ne $.ClusterName "null"}} on cluster {{$.ClusterName}}{{end}}</div>
  </section>
  {{- end}}
  {{- else}}
  <p class="error">Error fetching product reviews</p>
  <p>{{.ReviewsError}}</p>
  {{- end}}
</div></div>
</body>
</html>
`))

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Simple Bookstore App</title>
` + style + `
</head>
<body>
<div class="container">
  <h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
  <table>
    <thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead>
    <tbody>
      <tr><td>{{.DetailsURL}}</td><td>details</td><td>
        <table>
          <thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead>
          <tbody>
            <tr><td>{{.DetailsURL}}</td><td>details</td><td></td></tr>
            <tr><td>{{.ReviewsURL}}</td><td>reviews</td><td>
              <table><thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead>
                <tbody><tr><td>{{.RatingsURL}}</td><td>ratings</td><td></td></tr></tbody></table>
            </td></tr>
          </tbody>
        </table>
      </td></tr>
    </tbody>
  </table>
  <p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
  <ul>
    <li><a href="/productpage?u=normal">Normal user</a></li>
    <li><a href="/productpage?u=test">Test user</a></li>
  </ul>
</div>
</body>
</html>
`))
