// Package console is the staff console: server-rendered pages where staff
// sign in, work the ticket queues and decide interventions, and admins
// manage settings. It is a door onto the service core like the gRPC and
// REST doors: handlers translate forms to service calls and results to
// pages, and every action is checked against the access policy of the RPC
// it corresponds to (grpcapi.Authorize), so one rule decides for every door.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/grpcapi"
	"github.com/tickiti/tickiti/server/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CookieName is the session cookie.
const CookieName = "tickiti_session"

// Options tune the console.
type Options struct {
	// SecureCookies marks the session cookie Secure on every request. It is
	// set anyway on requests that arrived over TLS; set this when a proxy
	// terminates TLS in front of Tickiti. Plain http (localhost) needs it
	// off, or the browser would not send the cookie back.
	SecureCookies bool
	// PollInterval is how often a ticket page asks for the delivery state
	// while a decision is on its way (default 1 s).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Console serves the staff console.
type Console struct {
	svc   *service.Service
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// New returns the console's handler; mount it at "/".
func New(svc *service.Service, opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	c := &Console{svc: svc, opts: opts, log: opts.Logger}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/tickets", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	c.routeTickets(mux)
	c.routeSettings(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, _ := c.principal(r) // for the menu, when signed in
		c.errorPage(w, r, p, http.StatusNotFound, "There is no page at this address.")
	})

	// Every form posts to this origin: refusing cross-origin unsafe requests
	// (by the browser's Sec-Fetch-Site / Origin headers) is the CSRF
	// defence, with the SameSite=Lax cookie as a second line.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusForbidden, "This form was sent from another site and was refused.")
	}))
	return securityHeaders(csrf.Handler(mux)), nil
}

// securityHeaders keeps the pages from being framed or sniffed and lets
// only the console's own scripts and styles run: even if a value escaped
// its escaping, the browser would not execute it.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change only with the binary; an hour keeps a new release
		// from being hidden for long.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// action names the RPC whose policy guards a console action.
type action = string

// authed wraps a handler that needs a signed-in user allowed to do what
// the RPC method does. Without a session, pages redirect to sign-in; a
// signed-in user lacking the right sees a 403 page.
func (c *Console) authed(method action, h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := c.principal(r)
		if err != nil {
			var ae *apierr.Error
			if errors.As(err, &ae) && ae.Reason == apierr.Unauthenticated {
				c.toLogin(w, r)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		if err := grpcapi.Authorize(p, method); err != nil {
			c.fail(w, r, p, err)
			return
		}
		r = r.WithContext(auth.With(r.Context(), p))
		h(w, r, p)
	}
}

// principal resolves the session cookie.
func (c *Console) principal(r *http.Request) (*auth.Principal, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return nil, apierr.New(apierr.Unauthenticated, "")
	}
	return c.svc.Session(r.Context(), ck.Value)
}

// toLogin sends the browser to the sign-in page, to come back here after.
// Requests scripts make (the live ticket state) get a 401 instead.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("X-Requested-With") != "" {
		http.Error(w, "Please sign in again.", http.StatusUnauthorized)
		return
	}
	q := url.Values{"next": {r.URL.RequestURI()}}
	if _, err := r.Cookie(CookieName); err == nil {
		q.Set("m", "ended") // there was a session, and it is over
	}
	http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
}

// fail shows a service error as a page with the status its reason maps to.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		c.log.Error("console", "path", r.URL.Path, "err", err)
		c.errorPage(w, r, p, http.StatusInternalServerError, "Something went wrong on our side.")
		return
	}
	msg := ae.Message
	if ae.Reason == apierr.Forbidden {
		msg = "You are not allowed to do this. " + msg
	}
	c.errorPage(w, r, p, apierr.HTTPStatus(ae.Reason), msg)
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, msg string) {
	c.render(w, r, status, "error", &errorView{Base: c.base(r, p, http.StatusText(status)), Message: msg})
}

type errorView struct {
	Base
	Message string
}

// Base is what every page's layout needs.
type Base struct {
	Title string
	User  *auth.Principal
	// Admin shows the settings menu.
	Admin bool
	// Nav is the section the page belongs to ("tickets", "settings").
	Nav string
}

func (c *Console) base(r *http.Request, p *auth.Principal, title string) Base {
	b := Base{Title: title, User: p}
	if p != nil {
		b.Admin = grpcapi.Authorize(p, settingsMethod) == nil
	}
	if strings.HasPrefix(r.URL.Path, "/settings") {
		b.Nav = "settings"
	} else {
		b.Nav = "tickets"
	}
	return b
}

// isSecure says whether the session cookie must be Secure.
func (c *Console) isSecure(r *http.Request) bool { return c.opts.SecureCookies || r.TLS != nil }
