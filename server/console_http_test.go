package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/console"
	"github.com/tickiti/tickiti/server/dbtest"
)

// The console's sessions, access rules and defences, over plain HTTP.

// client is a cookie-keeping HTTP client that does not follow redirects.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fetch sends a request and returns the status, Location and body.
func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func signIn(t *testing.T, c *http.Client, base, email, password string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "next": {"/tickets/100001"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestConsoleSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		f.withPassword(t)
		f.mustCreate(t)
		base := f.srv.base
		c := client(t)

		// Signed out: pages send the browser to sign in, and back after.
		code, loc, _ := fetch(t, c, "GET", base+"/tickets/100001", nil, nil)
		if code != http.StatusSeeOther || loc != "/login?next=%2Ftickets%2F100001" {
			t.Fatalf("signed out: %d %q", code, loc)
		}
		// The live part, fetched by script, gets a 401 instead.
		if code, _, _ := fetch(t, c, "GET", base+"/tickets/100001/live", nil, map[string]string{"X-Requested-With": "fetch"}); code != http.StatusUnauthorized {
			t.Errorf("live signed out: %d", code)
		}
		// A wrong password and an unknown address read the same.
		for _, cred := range [][2]string{{"alice@tickiti.test", "wrong password"}, {"nobody@tickiti.test", alicePassword}} {
			code, _, body := fetch(t, c, "POST", base+"/login", url.Values{"email": {cred[0]}, "password": {cred[1]}}, nil)
			if code != http.StatusUnauthorized || !strings.Contains(body, "These credentials do not match our records.") {
				t.Errorf("sign in %s: %d", cred[0], code)
			}
			if strings.Contains(body, cred[1]) {
				t.Errorf("the password came back in the page")
			}
		}

		resp := signIn(t, c, base, "ALICE@tickiti.test", alicePassword)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tickets/100001" {
			t.Fatalf("sign in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var ck *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == console.CookieName {
				ck = k
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
			t.Fatalf("session cookie = %+v", ck)
		}
		code, _, body := fetch(t, c, "GET", base+"/tickets/100001", nil, nil)
		if code != http.StatusOK || !strings.Contains(body, "Order price (net) GBP") {
			t.Fatalf("ticket page: %d", code)
		}

		// Staff may not see settings: the settings RPCs need an admin.
		if code, _, _ := fetch(t, c, "GET", base+"/settings/tokens", nil, nil); code != http.StatusForbidden {
			t.Errorf("staff on settings: %d", code)
		}
		// Forms from another site are refused before they reach a handler.
		for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}} {
			code, _, _ := fetch(t, c, "POST", base+"/tickets/100001/submit", url.Values{"field.accept": {"true"}}, h)
			if code != http.StatusForbidden {
				t.Errorf("cross-origin submit %v: %d", h, code)
			}
		}
		if v := f.ticket(t, 100001); v.Data.Intervention.Status != "open" {
			t.Fatalf("a refused cross-origin form changed the ticket: %s", v.Data.Intervention.Status)
		}

		// Deactivation ends the session at the next request.
		ctx := context.Background()
		f.db.User.Update().Where(user.Email("alice@tickiti.test")).SetActive(false).ExecX(ctx)
		if code, loc, _ := fetch(t, c, "GET", base+"/tickets", nil, nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("deactivated: %d %q", code, loc)
		}
		if code, _, _ := fetch(t, c, "POST", base+"/login", url.Values{"email": {"alice@tickiti.test"}, "password": {alicePassword}}, nil); code != http.StatusUnauthorized {
			t.Errorf("deactivated user signs in: %d", code)
		}
		f.db.User.Update().Where(user.Email("alice@tickiti.test")).SetActive(true).ExecX(ctx)

		// Sign out ends the session on the server: the old cookie is dead.
		signIn(t, c, base, "alice@tickiti.test", alicePassword)
		old := c.Jar.Cookies(mustURL(t, base))
		if code, loc, _ := fetch(t, c, "POST", base+"/logout", url.Values{}, nil); code != http.StatusSeeOther || loc != "/login?m=signedout" {
			t.Errorf("sign out: %d %q", code, loc)
		}
		replay := client(t)
		replay.Jar.SetCookies(mustURL(t, base), old)
		if code, _, _ := fetch(t, replay, "GET", base+"/tickets", nil, nil); code != http.StatusSeeOther {
			t.Errorf("a signed-out session still works: %d", code)
		}

		// A new password ends the sessions too.
		signIn(t, c, base, "alice@tickiti.test", alicePassword)
		if err := f.srv.Service().SetPassword(ctx, "alice@tickiti.test", "another password"); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := fetch(t, c, "GET", base+"/tickets", nil, nil); code != http.StatusSeeOther {
			t.Errorf("session survived a password change: %d", code)
		}
	})
}

func TestConsoleServesBesideTheAPI(t *testing.T) {
	f := newFixture(t, "sqlite:"+t.TempDir()+"/t.db", finalAnswer)
	c := client(t)
	code, _, body := fetch(t, c, "GET", f.srv.base+"/login", nil, nil)
	if code != http.StatusOK || !strings.Contains(body, `<label for="email">Email</label>`) {
		t.Fatalf("login page: %d", code)
	}
	resp, err := http.Get(f.srv.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q", k, got)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if code, _, body := fetch(t, c, "GET", f.srv.base+"/static/console.css", nil, nil); code != http.StatusOK || !strings.Contains(body, "--accent") {
		t.Errorf("stylesheet: %d", code)
	}
	if code, _, body := fetch(t, c, "GET", f.srv.base+"/healthz", nil, nil); code != http.StatusOK || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _, body := fetch(t, c, "GET", f.srv.base+"/api/v1/tickets/100001", nil, nil); code != http.StatusUnauthorized || !strings.Contains(body, `"ok":false`) {
		t.Errorf("the API is no longer the API: %d %s", code, body)
	}
	if code, _, _ := fetch(t, c, "GET", f.srv.base+"/no/such/page", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown page: %d", code)
	}
	// The sign-in page keeps redirects on this site.
	f.withPassword(t)
	for next, want := range map[string]string{"//evil.example/": "/tickets", "/\\evil.example": "/tickets", "/\t/evil.example": "/tickets", "/\n/evil.example": "/tickets", "https://evil.example": "/tickets", "/tickets?q=x": "/tickets?q=x"} {
		resp, err := c.PostForm(f.srv.base+"/login", url.Values{"email": {"alice@tickiti.test"}, "password": {alicePassword}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("next %q: redirected to %q", next, loc)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConsoleSignInEndsPreviousSession: signing in again in a browser ends
// the session its cookie named, rather than leaving it alive unseen.
func TestConsoleSignInEndsPreviousSession(t *testing.T) {
	f := newFixture(t, "sqlite:"+t.TempDir()+"/t.db", finalAnswer)
	f.withPassword(t)
	c := client(t)
	signIn(t, c, f.srv.base, "alice@tickiti.test", alicePassword)
	first := c.Jar.Cookies(mustURL(t, f.srv.base))
	signIn(t, c, f.srv.base, "alice@tickiti.test", alicePassword)
	if code, _, _ := fetch(t, c, "GET", f.srv.base+"/tickets", nil, nil); code != http.StatusOK {
		t.Fatalf("second session: %d", code)
	}
	replay := client(t)
	replay.Jar.SetCookies(mustURL(t, f.srv.base), first)
	if code, _, _ := fetch(t, replay, "GET", f.srv.base+"/tickets", nil, nil); code != http.StatusSeeOther {
		t.Errorf("the replaced session still works: %d", code)
	}
}
