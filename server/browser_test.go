package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The console's browser tests drive Debian's chromium (`make chromium`
// installs it) through chromedp. Each test gets its own browser with a
// fresh profile, so cookies of one test's server never reach another's.

// chromiumPath finds the browser, or returns "".
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// browser is a headless chromium with one tab.
type browser struct {
	t       *testing.T
	ctx     context.Context
	name    string
	dialogs atomic.Int32
}

// newBrowser starts chromium for t. Without chromium the test is skipped,
// except under CI, where a skipped browser test would hide a broken setup.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "" {
			t.Skip("chromium is not installed; `make chromium` installs it (the browser tests must run when CI is set)")
		}
		t.Fatal("chromium is not installed (CI is set, so the browser tests may not be skipped): run `make chromium`")
	}
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last-in first-out)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, name: strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())}
	// The first action starts the browser; it runs without a timeout,
	// which would end the browser with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// A dialog can only come from a script the page did not mean to run
	// (the console opens none on the paths tested): count it, dismiss it.
	err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.dialogs.Add(1)
			go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
				return err
			}))
		}
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return b
}

// do runs steps with a time limit; on failure it saves a screenshot.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("FAILED")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the first element matching the CSS selector.
func (b *browser) text(css string) string {
	b.t.Helper()
	return run(b, "text of "+css, chromedp.TextContent(chromedp.CSS(css)))
}

// value returns the value of the input matching the CSS selector.
func (b *browser) value(css string) string {
	b.t.Helper()
	return run(b, "value of "+css, chromedp.Value(chromedp.CSS(css)))
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return run(b, expr, chromedp.Evaluate[T](expr))
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.screenshot("FAILED")
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the whole page as testout/<test>-<suffix>.png at the
// top of the repository (git-ignored) and returns the path.
func (b *browser) screenshot(suffix string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return ""
	}
	dir := filepath.Join("..", "testout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot: %v", err)
		return ""
	}
	path := filepath.Join(dir, b.name+"-"+suffix+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// signIn signs in on the page the browser was sent to, and waits until
// the page it asked for shows sel.
func (b *browser) signIn(email, password, sel string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
}
