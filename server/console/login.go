package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/service"
)

type loginView struct {
	Base
	Email, Next, Message, Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	// Already signed in: go on.
	if p, err := c.principal(r); err == nil && p != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", &loginView{
		Base: c.base(r, nil, "Sign in"), Next: next, Message: loginMessages[r.URL.Query().Get("m")],
	})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	token, _, err := c.svc.SignIn(r.Context(), email, password)
	if err != nil {
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Reason != apierr.Unauthenticated {
			c.fail(w, r, nil, err)
			return
		}
		// The address stays filled in; the password never comes back.
		c.render(w, r, http.StatusUnauthorized, "login", &loginView{
			Base: c.base(r, nil, "Sign in"), Email: email, Next: next, Error: ae.Message,
		})
		return
	}
	// A session this browser held before (another user's, say) ends: the
	// cookie that named it is about to be replaced.
	if ck, err := r.Cookie(CookieName); err == nil {
		if err := c.svc.SignOut(r.Context(), ck.Value); err != nil {
			c.log.Warn("console: end the previous session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", MaxAge: int(service.SessionMax.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.isSecure(r),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(CookieName); err == nil {
		if err := c.svc.SignOut(r.Context(), ck.Value); err != nil {
			c.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.isSecure(r),
	})
	http.Redirect(w, r, "/login?m=signedout", http.StatusSeeOther)
}

// loginMessages are what the sign-in page can say about why it is shown;
// the address names one, so no text from a link reaches the page.
var loginMessages = map[string]string{
	"signedout": "You are signed out.",
	"ended":     "Your session has ended; please sign in again.",
}

// safeNext keeps a post-sign-in redirect on this site: a local path only,
// not "//host" or "/\host", which browsers read as another origin, and
// without control characters: browsers drop tabs and line breaks from a
// URL, so "/<tab>/host" would become "//host".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/tickets"
	}
	return next
}
