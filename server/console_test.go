package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/uifield"
)

// The staff console, driven in a real browser against a real server and a
// fake remote system.

const (
	alicePassword = "correct horse battery"
	adminPassword = "admin password 123"
)

// withPassword gives the seed's staff user a console password.
func (f *fixture) withPassword(t *testing.T) {
	t.Helper()
	if err := f.srv.Service().SetPassword(context.Background(), "alice@tickiti.test", alicePassword); err != nil {
		t.Fatal(err)
	}
}

// addAdmin creates an admin user who can sign in.
func (f *fixture) addAdmin(t *testing.T) string {
	t.Helper()
	const email = "root@tickiti.test"
	f.db.User.Create().SetEmail(email).SetName("Root Admin").SetRole(user.RoleAdmin).ExecX(context.Background())
	if err := f.srv.Service().SetPassword(context.Background(), email, adminPassword); err != nil {
		t.Fatal(err)
	}
	return email
}

// TestConsoleDecide is the seed's second step in the browser: sign in, open
// the ticket the remote created, edit the price, tick accept, submit, and
// watch the page follow the delivery to completed without a reload.
func TestConsoleDecide(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		// The remote holds its answer until the page has shown the
		// pending delivery, so the test sees the page change by itself.
		release := make(chan struct{})
		var once sync.Once
		f := newFixture(t, url, func(n int, c call) (int, string) {
			<-release
			return finalAnswer(n, c)
		})
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		f.withPassword(t)
		if code, _, body := f.createTicket(t, "console-decide", seedBody); code != http.StatusCreated {
			t.Fatalf("create_ticket: %d %s", code, body)
		}

		b := newBrowser(t)
		// The queue first: the new ticket is listed, and found by search.
		b.do("open the queue", chromedp.Navigate(f.srv.base+"/tickets"))
		b.signIn("alice@tickiti.test", alicePassword, "table.tickets")
		if got := b.text("table.tickets tbody"); !strings.Contains(got, "#100001") || !strings.Contains(got, "order-12345-discount") {
			t.Fatalf("queue lists:\n%s", got)
		}
		// The queue page already lists the ticket, so wait for the search's
		// own page (its box holds the query as an attribute, which typing
		// does not set) before clicking a link that may be the old one.
		b.do("search by customer",
			chromedp.SendKeys(chromedp.ID("q"), "customer@example"),
			chromedp.Submit(chromedp.ID("q")),
			chromedp.WaitVisible(chromedp.CSS(`#q[value="customer@example"]`)),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/tickets/100001"]`)),
		)
		b.do("open the ticket", chromedp.Click(chromedp.CSS(`a[href="/tickets/100001"]`)), chromedp.WaitVisible(chromedp.ID("decision")))

		if got := b.text(`label[for="f0"]`); got != "Order price (net) GBP" {
			t.Errorf("price label = %q", got)
		}
		if got := b.value("#f0"); got != "100" {
			t.Errorf("price input = %q", got)
		}
		if got := b.text(".response.internal .content"); got != "Discount request order-12345-discount: 100 GBP" {
			t.Errorf("private note = %q", got)
		}
		b.do("decide",
			chromedp.Clear(chromedp.ID("f0")),
			chromedp.SendKeys(chromedp.ID("f0"), "95"),
			chromedp.Click(chromedp.ID("f1")),
			chromedp.SendKeys(chromedp.ID("content"), "Approved."),
		)
		b.screenshot("decide") // docs/console.png is the SQLite one
		b.do("submit",
			chromedp.Click(chromedp.ID("submit-decision")),
			chromedp.WaitVisible(chromedp.CSS(`#delivery-state[data-state="pending"]`)),
		)
		// A mark a reload would wipe out.
		eval[bool](b, `window.stillThisPage = true`)
		once.Do(func() { close(release) })
		b.do("see the delivery complete", chromedp.WaitVisible(chromedp.CSS(`#delivery-state[data-state="completed"]`)))
		if !eval[bool](b, `window.stillThisPage === true`) {
			t.Error("the page was reloaded; it should have updated itself")
		}
		if got := b.text("#intervention-status"); got != "completed" {
			t.Errorf("intervention status = %q", got)
		}
		conv := b.text(".conversation")
		for _, want := range []string{
			"Your discount is confirmed. Discount applied at 95 GBP. Order updated.", // the final public response
			"Discount applied at 95 GBP. Order updated.",                             // the audit on the staff response
			"Approved.", "Alice Staff",
		} {
			if !strings.Contains(conv, want) {
				t.Errorf("conversation lacks %q:\n%s", want, conv)
			}
		}
		if got := b.text(".response.internal .audit"); !strings.Contains(got, "Discount applied at 95 GBP.") {
			t.Errorf("audit on the staff note = %q", got)
		}
		b.screenshot("completed")
		// On a phone the page is one column and nothing overflows sideways.
		b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide on a 390 px phone", w)
		}
		b.screenshot("phone")

		// The remote got the decision with the contract's JSON types.
		calls := f.remote.received()
		if len(calls) == 0 {
			t.Fatal("the remote received no epilog call")
		}
		var epilog struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(calls[0].body, &epilog); err != nil {
			t.Fatal(err)
		}
		if epilog.Data["order_price"] != float64(95) || epilog.Data["accept"] != true || epilog.Data["currency"] != "GBP" {
			t.Errorf("epilog data = %v", epilog.Data)
		}
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
	})
}

// TestConsoleEscapesRemoteValues puts markup in every value a remote or a
// customer controls; the console must show it as text and run nothing.
func TestConsoleEscapesRemoteValues(t *testing.T) {
	const xss = "<script>alert(1)</script>"
	const img = `<img src=x onerror="alert(2)">`
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, func(_ int, c call) (int, string) {
			var req struct {
				ResponseID int64 `json:"response_id"`
			}
			_ = json.Unmarshal(c.body, &req)
			b, _ := json.Marshal(map[string]any{"ok": true, "final": map[string]any{
				"response_id": req.ResponseID, "ticket_audit": img, "remote_reference": xss,
			}})
			return http.StatusOK, string(b)
		})
		f.withPassword(t)
		body := `{"originator_email_address": "customer@example.com", "intervention": "discount_request",
			"uid": "<b>uid</b>", "data": {"data": {"currency": "<script>alert(1)</script>",
			"order_price": "<script>alert(1)</script>", "accept": false, "note": "<img src=x onerror=\"alert(2)\">"}}}`
		if code, _, resp := f.createTicket(t, "console-xss", body); code != http.StatusCreated {
			t.Fatalf("create_ticket: %d %s", code, resp)
		}

		b := newBrowser(t)
		b.do("open the queue", chromedp.Navigate(f.srv.base+"/tickets"))
		b.signIn("alice@tickiti.test", alicePassword, "table.tickets")
		if got := b.text("table.tickets tbody"); !strings.Contains(got, "<b>uid</b>") {
			t.Errorf("the uid is not shown as text in the list:\n%s", got)
		}
		b.do("open the ticket", chromedp.Navigate(f.srv.base+"/tickets/100001"), chromedp.WaitVisible(chromedp.ID("decision")))
		if got := b.text(`label[for="f0"]`); got != "Order price (net) "+xss {
			t.Errorf("label = %q", got)
		}
		if got := b.value("#f0"); got != xss {
			t.Errorf("input value = %q", got)
		}
		if got := b.text("details.others"); !strings.Contains(got, img) || !strings.Contains(got, xss) {
			t.Errorf("other data = %q", got)
		}
		if got := b.text(".response.internal .content"); !strings.Contains(got, xss) {
			t.Errorf("private note = %q", got)
		}
		b.do("submit", chromedp.Click(chromedp.ID("f1")), chromedp.SendKeys(chromedp.ID("content"), xss),
			chromedp.Click(chromedp.ID("submit-decision")),
			chromedp.WaitVisible(chromedp.CSS(`#delivery-state[data-state="completed"]`)))
		if got := b.text(".response.internal .audit .content"); got != img {
			t.Errorf("audit = %q", got)
		}
		if got := b.text("#remote-reference"); got != xss {
			t.Errorf("remote reference = %q", got)
		}
		if got := b.text(".conversation"); !strings.Contains(got, "Your discount is confirmed. "+img) || !strings.Contains(got, xss) {
			t.Errorf("conversation = %q", got)
		}
		// Nothing became markup: the one script is the console's own.
		if n := eval[int](b, `document.scripts.length`); n != 1 {
			t.Errorf("%d script elements", n)
		}
		if n := eval[int](b, `document.querySelectorAll("main img, main b, main i").length`); n != 0 {
			t.Errorf("%d elements made from remote values", n)
		}
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
		b.screenshot("escaped")
	})
}

// TestConsoleValidationError submits a value the field refuses: the message
// shows beside the field and everything typed is kept.
func TestConsoleValidationError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		f.withPassword(t)
		ctx := context.Background()
		zero := 0.0
		inbox := f.db.Queue.Query().OnlyX(ctx)
		f.db.Template.Create().SetIdentifier("address_check.private").SetBody("Check the address of {{uid}}.").ExecX(ctx)
		f.db.Intervention.Create().SetName("address_check").SetTitle("Address check").SetQueueID(inbox.ID).
			SetFields([]uifield.Field{
				{Type: uifield.Email, Name: "contact", Label: "Contact address"},
				{Type: uifield.Text, Name: "street", Label: "Street"},
				{Type: uifield.Select, Name: "priority", Label: "Priority", Options: []uifield.Option{{Value: "low", Label: "Low"}, {Value: "high", Label: "High"}}},
				{Type: uifield.Number, Name: "floors", Label: "Floors", Required: true, Help: "Above ground.", Min: &zero},
			}).ExecX(ctx)
		body := `{"originator_email_address": "customer@example.com", "intervention": "address_check",
			"uid": "addr-1", "data": {"data": {"contact": "old@example.com", "street": "Main St 1", "priority": "low"}}}`
		if code, _, resp := f.createTicket(t, "console-validation", body); code != http.StatusCreated {
			t.Fatalf("create_ticket: %d %s", code, resp)
		}

		b := newBrowser(t)
		b.do("open the ticket", chromedp.Navigate(f.srv.base+"/tickets/100001"))
		b.signIn("alice@tickiti.test", alicePassword, "#decision")
		// Each field type gets its control.
		if got := b.eval(`["f0","f1","f2","f3"].map(id => document.getElementById(id).type).join(" ")`); got != "email text select-one text" {
			t.Errorf("input types = %q", got)
		}
		if got := b.eval(`[...document.getElementById("f2").options].map(o => o.value + (o.selected ? "*" : "")).join(" ")`); got != "low* high" {
			t.Errorf("select options = %q", got)
		}
		if got := b.text("#f3-help"); got != "Above ground. At least 0." {
			t.Errorf("number help = %q", got)
		}
		b.do("submit a bad address",
			chromedp.Clear(chromedp.ID("f0")),
			chromedp.SendKeys(chromedp.ID("f0"), "not-an-address"),
			chromedp.Clear(chromedp.ID("f1")),
			chromedp.SendKeys(chromedp.ID("f1"), "High St 2"),
			chromedp.SendKeys(chromedp.ID("content"), "Moved house."),
			chromedp.SetValue(chromedp.ID("f2"), "high"),
			chromedp.Click(chromedp.ID("submit-decision")),
			chromedp.WaitVisible(chromedp.ID("f0-err")),
		)
		if got := b.text("#f3-err"); !strings.Contains(got, "required") {
			t.Errorf("the required number: %q", got)
		}
		if got := b.text("#f0-err"); !strings.Contains(got, "valid email address") {
			t.Errorf("error beside the field = %q", got)
		}
		if got := b.eval(`document.getElementById("f0").getAttribute("aria-invalid") + " " + document.getElementById("f0").getAttribute("aria-describedby")`); got != "true f0-err" {
			t.Errorf("the error is not tied to the input: %q", got)
		}
		if got := b.text("#form-errors"); !strings.Contains(got, "not submitted") {
			t.Errorf("summary = %q", got)
		}
		for sel, want := range map[string]string{"#f0": "not-an-address", "#f1": "High St 2", "#f2": "high", "#content": "Moved house."} {
			if got := b.value(sel); got != want {
				t.Errorf("%s lost what was typed: %q, want %q", sel, got, want)
			}
		}
		b.screenshot("invalid")

		b.do("correct it and submit",
			chromedp.Clear(chromedp.ID("f0")),
			chromedp.SendKeys(chromedp.ID("f0"), "new@example.com"),
			chromedp.SendKeys(chromedp.ID("f3"), "3"),
			chromedp.Click(chromedp.ID("submit-decision")),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		)
		// No remote: the staff decision completes the intervention.
		if got := b.text("#intervention-status"); got != "completed" {
			t.Errorf("status = %q", got)
		}
		v := f.ticket(t, 100001)
		if d := v.Data.Intervention.Data; d["contact"] != "new@example.com" || d["street"] != "High St 2" ||
			d["priority"] != "high" || d["floors"] != float64(3) {
			t.Errorf("data bag = %v", d)
		}
	})
}

// TestConsoleAdminCreatesToken: an admin issues an API token in the
// settings, sees it once, and it works.
func TestConsoleAdminCreatesToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		admin := f.addAdmin(t)

		b := newBrowser(t)
		b.do("open the tokens", chromedp.Navigate(f.srv.base+"/settings/tokens"))
		b.signIn(admin, adminPassword, "#token-form")
		b.do("create a token",
			chromedp.SendKeys(chromedp.ID("token-description"), "shop"),
			chromedp.Click(chromedp.ID("ability-create-ticket")),
			chromedp.Click(chromedp.ID("create-token")),
			chromedp.WaitVisible(chromedp.ID("new-token")),
		)
		token := strings.TrimSpace(b.text("#new-token"))
		b.screenshot("token")
		if !strings.Contains(token, "|") {
			t.Fatalf("token shown = %q", token)
		}
		if got := b.text("#tokens"); !strings.Contains(got, "shop") || !strings.Contains(got, "create-ticket") {
			t.Errorf("token list = %q", got)
		}
		// The token works for what it was made for.
		code, _, body := do(t, "POST", f.srv.base+"/api/create_ticket", token,
			map[string]string{"Idempotency-Key": "console-token"}, seedBody)
		if code != http.StatusCreated {
			t.Errorf("create_ticket with the new token: %d %s", code, body)
		}
		// Shown once: a reload does not show it again.
		b.do("reload", chromedp.Navigate(f.srv.base+"/settings/tokens"), chromedp.WaitVisible(chromedp.ID("tokens")))
		if html := b.eval(`document.body.innerHTML`); strings.Contains(html, token) {
			t.Error("the token is shown again after a reload")
		}
	})
}

// eval evaluates an expression that gives a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	return eval[string](b, expr)
}

// TestConsoleAdminSettings: an admin edits an intervention's fields,
// rotates its remote token, and edits a template with the live preview.
func TestConsoleAdminSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		admin := f.addAdmin(t)
		ctx := context.Background()

		b := newBrowser(t)
		b.do("open the interventions", chromedp.Navigate(f.srv.base+"/settings/interventions"))
		b.signIn(admin, adminPassword, "#interventions")
		b.do("open discount_request",
			chromedp.Click(chromedp.CSS(`a[href="/settings/interventions/discount_request"]`)),
			chromedp.WaitVisible(chromedp.ID("save-intervention")),
		)
		if got := b.value("#f0-label"); got != "Order price (net) {{currency}}" {
			t.Errorf("label as stored = %q", got)
		}
		// A field that is declared twice is refused, on its row.
		b.do("add a field twice",
			chromedp.SendKeys(chromedp.ID("f2-name"), "accept"),
			chromedp.Click(chromedp.ID("save-intervention")),
			chromedp.WaitVisible(chromedp.ID("row2-err")),
		)
		if got := b.value("#f2-name"); got != "accept" {
			t.Errorf("the typed row was lost: %q", got)
		}
		b.do("add a field",
			chromedp.Clear(chromedp.ID("f2-name")),
			chromedp.SendKeys(chromedp.ID("f2-name"), "reason"),
			chromedp.SetValue(chromedp.ID("f2-type"), "textarea"),
			chromedp.SendKeys(chromedp.ID("f2-label"), "Reason"),
			chromedp.Clear(chromedp.ID("f0-label")),
			chromedp.SendKeys(chromedp.ID("f0-label"), "Net price {{currency}}"),
			chromedp.Click(chromedp.ID("save-intervention")),
			chromedp.WaitVisible(chromedp.CSS(".notice")),
		)
		iv, err := f.srv.Service().GetIntervention(ctx, "discount_request")
		if err != nil {
			t.Fatal(err)
		}
		if fs := iv.GetFields(); len(fs) != 3 || fs[0].GetLabel() != "Net price {{currency}}" || fs[2].GetName() != "reason" || fs[2].GetType() != "textarea" {
			t.Errorf("fields = %v", fs)
		}

		b.screenshot("intervention")

		// The new remote token is shown once, and is the one sent.
		eval[bool](b, `(window.confirm = () => true, true)`)
		b.do("rotate the remote token",
			chromedp.Click(chromedp.CSS(`form[action$="/rotate"] button`)),
			chromedp.WaitVisible(chromedp.ID("remote-token")),
		)
		shown := b.text("#remote-token")
		if stored := f.db.Intervention.Query().OnlyX(ctx).RemoteToken; shown == "" || shown != stored {
			t.Errorf("shown %q, stored %q", shown, stored)
		}

		// The template editor previews as the admin types, escaped.
		b.do("edit the final template",
			chromedp.Navigate(f.srv.base+"/settings/templates/discount_request.final"),
			chromedp.WaitVisible(chromedp.ID("tpl-body")),
			chromedp.Clear(chromedp.ID("tpl-body")),
			chromedp.SendKeys(chromedp.ID("tpl-body"), "Done at {{order_price}}: {{ticket_audit}} <b>!</b>"),
			chromedp.Poll[chromedp.Void](`document.getElementById("template-preview").textContent.includes("Done at sample order_price: Sample audit")`),
		)
		if got := b.text("#template-preview"); got != "Done at sample order_price: Sample audit text from the remote system. <b>!</b>" {
			t.Errorf("preview = %q", got)
		}
		b.screenshot("template")
		b.do("save the template", chromedp.Click(chromedp.CSS(`#template-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if got, _ := f.srv.Service().GetTemplate(ctx, "discount_request.final"); got.GetBody() != "Done at {{order_price}}: {{ticket_audit}} <b>!</b>" {
			t.Errorf("saved body = %q", got.GetBody())
		}
	})
}

// TestConsoleFollowUp: the remote refuses the decision; staff see its
// message and the attempt, and send the same decision again, which the
// remote then confirms.
func TestConsoleFollowUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, func(n int, c call) (int, string) {
			if n == 1 {
				return http.StatusOK, `{"ok": false, "message": "Price <b>too low</b> for this customer."}`
			}
			return finalAnswer(n, c)
		})
		f.withPassword(t)
		f.mustCreate(t)

		b := newBrowser(t)
		b.do("open the ticket", chromedp.Navigate(f.srv.base+"/tickets/100001"))
		b.signIn("alice@tickiti.test", alicePassword, "#decision")
		b.do("submit, and see the refusal",
			chromedp.Click(chromedp.ID("f1")),
			chromedp.Click(chromedp.ID("submit-decision")),
			chromedp.WaitVisible(chromedp.CSS(`#delivery-state[data-state="refused"]`)),
			chromedp.WaitVisible(chromedp.ID("redeliver")),
		)
		if got := b.text("#remote-message"); got != "Price <b>too low</b> for this customer." {
			t.Errorf("remote message = %q", got)
		}
		if got := b.text("details.attempts"); !strings.Contains(got, "refused") || !strings.Contains(got, "200") {
			t.Errorf("attempt log = %q", got)
		}
		// The decision went back to staff: the form is there again.
		if got := b.text("#intervention-status"); got != "open" {
			t.Errorf("status after refusal = %q", got)
		}
		b.screenshot("refused")
		b.do("send it again",
			chromedp.Click(chromedp.ID("redeliver")),
			chromedp.WaitVisible(chromedp.CSS(`#delivery-state[data-state="completed"]`)),
		)
		if got := b.text("#intervention-status"); got != "completed" {
			t.Errorf("status = %q", got)
		}
		if n := len(f.remote.received()); n != 2 {
			t.Errorf("the remote got %d calls", n)
		}
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
	})
}
