package console

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// The settings screens are for admins: each action is guarded by the
// policy of the settings RPC it corresponds to, which needs an admin.
const (
	settingsMethod = v1.TokenService_ListTokens_FullMethodName // the settings menu

	listTokens  = v1.TokenService_ListTokens_FullMethodName
	createToken = v1.TokenService_CreateToken_FullMethodName
	revokeToken = v1.TokenService_RevokeToken_FullMethodName

	listUsers      = v1.UserService_ListUsers_FullMethodName
	getUser        = v1.UserService_GetUser_FullMethodName
	createUser     = v1.UserService_CreateUser_FullMethodName
	updateUser     = v1.UserService_UpdateUser_FullMethodName
	deactivateUser = v1.UserService_DeactivateUser_FullMethodName
)

func (c *Console) routeSettings(mux *http.ServeMux) {
	mux.HandleFunc("GET /settings", c.authed(settingsMethod, func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
		http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /settings/tokens", c.authed(listTokens, page(c, "tokens", c.tokensView)))
	mux.HandleFunc("POST /settings/tokens", c.authed(createToken, c.createToken))
	mux.HandleFunc("POST /settings/tokens/{id}/revoke", c.authed(revokeToken, c.revokeToken))
	mux.HandleFunc("GET /settings/users", c.authed(listUsers, page(c, "users", c.usersView)))
	mux.HandleFunc("POST /settings/users", c.authed(createUser, c.createUser))
	mux.HandleFunc("GET /settings/users/{id}", c.authed(getUser, page(c, "user", c.loadUser)))
	mux.HandleFunc("POST /settings/users/{id}", c.authed(updateUser, c.updateUser))
	// Setting a password changes the user: it is guarded like UpdateUser.
	mux.HandleFunc("POST /settings/users/{id}/password", c.authed(updateUser, c.setPassword))
	mux.HandleFunc("POST /settings/users/{id}/deactivate", c.authed(deactivateUser, c.deactivateUser))
	c.routeWorkflow(mux)
}

// settingsLink is one entry of the settings menu.
type settingsLink struct {
	Path, Name string
	Current    bool
}

// settingsBase is what every settings page has: the menu and the result
// of the last form.
type settingsBase struct {
	Base
	Menu []settingsLink
	// Errors maps a form field to its problems; Problem is the rest.
	Errors  map[string][]string
	Problem string
	Notice  string
}

func (c *Console) settingsBase(r *http.Request, p *auth.Principal, title, path string) settingsBase {
	sb := settingsBase{Base: c.base(r, p, title)}
	for _, l := range []settingsLink{
		{Path: "/settings/interventions", Name: "Interventions"},
		{Path: "/settings/templates", Name: "Templates"},
		{Path: "/settings/tokens", Name: "API tokens"},
		{Path: "/settings/users", Name: "Users"},
	} {
		l.Current = l.Path == path
		sb.Menu = append(sb.Menu, l)
	}
	sb.Notice = settingsNotices[r.URL.Query().Get("done")]
	return sb
}

// settingsNotices are the messages an action leaves for the page it
// redirects to.
var settingsNotices = map[string]string{
	"revoked":     "The token is revoked.",
	"saved":       "Saved.",
	"password":    "The password is set; the user's sessions have ended.",
	"deactivated": "The user is deactivated: their sessions and tokens no longer work.",
	"created":     "Created.",
	"deleted":     "Deleted.",
	"enabled":     "Enabled.",
	"disabled":    "Disabled.",
}

// formError files a service error under the form's fields, or returns it
// when it is not about the form (the caller then shows an error page).
func (sb *settingsBase) formError(err error) error {
	var ae *apierr.Error
	if !errors.As(err, &ae) || (ae.Reason != apierr.ValidationFailed && ae.Reason != apierr.Conflict &&
		ae.Reason != apierr.NotFound) {
		return err
	}
	sb.Errors = ae.Fields
	sb.Problem = ae.Message
	return nil
}

// page serves the page that load builds.
func page[V any](c *Console, name string, load func(*http.Request, *auth.Principal) (V, error)) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		v, err := load(r, p)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		c.render(w, r, http.StatusOK, name, v)
	}
}

// formView is a settings page that can show a refused form's problems.
type formView interface{ formError(error) error }

// showRefused answers a form the service refused with err: the page again,
// built by load, with the problems beside the fields and what was typed
// put back by keep (when not nil). An error that is not about the form,
// or a page that cannot be built, becomes an error page.
func showRefused[V formView](c *Console, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	status int, name string, load func(*http.Request, *auth.Principal) (V, error), err error, keep func(V)) {
	v, verr := load(r, p)
	if verr != nil {
		c.fail(w, r, p, verr)
		return
	}
	if err := v.formError(err); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if keep != nil {
		keep(v)
	}
	c.render(w, r, status, name, v)
}

type tokensView struct {
	settingsBase
	Tokens    []*v1.Token
	Next      string
	Abilities []abilityOption
	Users     []*v1.User
	// Form holds what was typed; NewToken is the token just created, shown
	// this once.
	Description, UserEmail string
	NewToken               *v1.Token
}

type abilityOption struct {
	Name, ID string
	Checked  bool
}

func (c *Console) tokensView(r *http.Request, p *auth.Principal) (*tokensView, error) {
	v := &tokensView{settingsBase: c.settingsBase(r, p, "API tokens", "/settings/tokens")}
	resp, err := c.svc.ListTokens(r.Context(), &v1.ListTokensRequest{PageSize: 100, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		return nil, err
	}
	v.Tokens = resp.GetTokens()
	if tok := resp.GetNextPageToken(); tok != "" {
		v.Next = "/settings/tokens?page=" + tok
	}
	users, err := c.svc.ListUsers(r.Context(), &v1.ListUsersRequest{PageSize: service.MaxPageSize})
	if err != nil {
		return nil, err
	}
	for _, u := range users.GetUsers() {
		if u.GetActive() {
			v.Users = append(v.Users, u)
		}
	}
	for _, a := range auth.Known {
		v.Abilities = append(v.Abilities, abilityOption{Name: a, ID: "ability-" + strings.ReplaceAll(a, ":", "-")})
	}
	return v, nil
}

// createToken shows the new token on the page that answers the form, not
// after a redirect: it is never stored, so this answer is the only place
// it can appear (the page is sent with Cache-Control: no-store).
func (c *Console) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, p, apierr.New(apierr.MalformedJSON, "The form could not be read."))
		return
	}
	abilities := r.PostForm["ability"]
	desc, email := r.PostFormValue("description"), r.PostFormValue("user")
	tok, err := c.svc.CreateToken(r.Context(), p, abilities, desc, email)
	if err != nil {
		showRefused(c, w, r, p, http.StatusUnprocessableEntity, "tokens", c.tokensView, err, func(v *tokensView) {
			v.Description, v.UserEmail = desc, email
			for i := range v.Abilities {
				v.Abilities[i].Checked = slices.Contains(abilities, v.Abilities[i].Name)
			}
		})
		return
	}
	v, err := c.tokensView(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.NewToken = tok
	c.render(w, r, http.StatusOK, "tokens", v)
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, p, apierr.New(apierr.NotFound, "There is no such token."))
		return
	}
	if _, err := c.svc.RevokeToken(r.Context(), p, id); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/settings/tokens?done=revoked", http.StatusSeeOther)
}

type usersView struct {
	settingsBase
	Users []*v1.User
	Next  string
	Roles []string
	// What the create form held.
	Email, Name, Role string
}

func (c *Console) usersView(r *http.Request, p *auth.Principal) (*usersView, error) {
	v := &usersView{settingsBase: c.settingsBase(r, p, "Users", "/settings/users"), Roles: service.Roles, Role: auth.RoleStaff}
	resp, err := c.svc.ListUsers(r.Context(), &v1.ListUsersRequest{PageSize: 100, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		return nil, err
	}
	v.Users = resp.GetUsers()
	if tok := resp.GetNextPageToken(); tok != "" {
		v.Next = "/settings/users?page=" + tok
	}
	return v, nil
}

// createUser adds a user and, when one is given, sets their password. The
// password is checked first, so a bad one does not leave a user behind.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	email, name, role, password := r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("role"), r.PostFormValue("password")
	id, err := c.addUser(r, p, email, name, role, password)
	if err == nil {
		http.Redirect(w, r, "/settings/users/"+strconv.Itoa(id)+"?done=created", http.StatusSeeOther)
		return
	}
	showRefused(c, w, r, p, http.StatusUnprocessableEntity, "users", c.usersView, err, func(v *usersView) {
		v.Email, v.Name, v.Role = email, name, role
	})
}

func (c *Console) addUser(r *http.Request, p *auth.Principal, email, name, role, password string) (int, error) {
	if password != "" {
		if err := service.CheckPassword(password); err != nil {
			return 0, err
		}
	}
	u, err := c.svc.CreateUser(r.Context(), p, email, name, role)
	if err != nil {
		return 0, err
	}
	if password != "" {
		if err := c.svc.SetPassword(r.Context(), u.Email, password); err != nil {
			return 0, err
		}
	}
	return u.ID, nil
}

type userView struct {
	settingsBase
	U     *v1.User
	Roles []string
	// Self is the signed-in admin's own account (it cannot be deactivated
	// from here, which would lock them out mid-session).
	Self bool
}

func (c *Console) loadUser(r *http.Request, p *auth.Principal) (*userView, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, apierr.New(apierr.NotFound, "There is no such user.")
	}
	u, err := c.svc.GetUser(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &userView{settingsBase: c.settingsBase(r, p, "User "+u.GetEmail(), "/settings/users"), U: u, Roles: service.Roles}
	v.Self = p.UserID != nil && int64(*p.UserID) == u.GetId()
	return v, nil
}

func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadUser(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	edit := &v1.User{Id: v.U.GetId(), Name: r.PostFormValue("name"), Role: r.PostFormValue("role")}
	_, err = c.svc.UpdateUser(r.Context(), p, edit, &fieldmaskpb.FieldMask{Paths: []string{"name", "role"}})
	c.afterUserAction(w, r, v, err, "saved", func() { v.U.Name, v.U.Role = edit.Name, edit.Role })
}

func (c *Console) setPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadUser(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	err = c.svc.SetPassword(r.Context(), v.U.GetEmail(), r.PostFormValue("password"))
	if err == nil && v.Self {
		// The admin's own sessions ended with the change, this one too.
		http.Redirect(w, r, "/login?m=ended", http.StatusSeeOther)
		return
	}
	c.afterUserAction(w, r, v, err, "password", nil)
}

func (c *Console) deactivateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadUser(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if v.Self {
		err = apierr.New(apierr.Conflict, "You cannot deactivate your own account.")
	} else {
		_, err = c.svc.DeactivateUser(r.Context(), p, v.U.GetId())
	}
	c.afterUserAction(w, r, v, err, "deactivated", nil)
}

// afterUserAction redirects to the user's page after a success, or shows
// the problem on it; keep restores what was typed.
func (c *Console) afterUserAction(w http.ResponseWriter, r *http.Request, v *userView, err error, done string, keep func()) {
	if err == nil {
		http.Redirect(w, r, "/settings/users/"+strconv.FormatInt(v.U.GetId(), 10)+"?done="+done, http.StatusSeeOther)
		return
	}
	if err := v.formError(err); err != nil {
		c.fail(w, r, v.User, err)
		return
	}
	if keep != nil {
		keep()
	}
	c.render(w, r, http.StatusUnprocessableEntity, "user", v)
}

// sortedKeys lists a map's keys in order, for stable pages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
