package webui_test

import (
	"context"
	"encoding/json"

	"flag"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/webui"
)

var update = flag.Bool("update", false, "write the screenshots of the browser story under docs/screenshots")

// site is a portal with its browser UI, served on a loopback port for one test.
type site struct {
	URL    string
	Portal *portal.Portal
}

// newSite serves the UI the way an embedder mounts it: the API in process through the
// portal's transport, the UI at the root of the server.
func newSite(t *testing.T, uiOpts ...webui.Option) *site {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	s := &site{URL: "http://" + srv.Listener.Addr().String()}
	p, err := portal.New(portal.WithPartnersLink(func(id string) string { return s.URL + webui.PartnersPath(id) }))
	if err != nil {
		t.Fatal(err)
	}
	s.Portal = p
	ui, err := webui.New(append([]webui.Option{
		webui.WithAPI(portal.InProcessURL, p.Transport()),
		webui.WithDevSignIn(func(_ context.Context, email string) (string, error) { return p.Token(email), nil }),
		webui.WithClientOptions(vssubs.WithRules(p.Rules())),
	}, uiOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, ui, p)
	return s
}

// serve starts srv with the UI, and stops it and the portal when the test ends.
func serve(t *testing.T, srv *httptest.Server, ui *webui.UI, p *portal.Portal) {
	srv.Config.Handler = ui
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = p.Close()
	})
}

// client is the API as someone signed in sees it, to check what the UI did.
func (s *site) client(t *testing.T, email string) *vssubs.Client {
	t.Helper()
	c, err := s.Portal.Client(email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chromium finds Debian's browser, or skips (fails under VSSUBS_REQUIRE_BROWSER=1, as in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VSSUBS_REQUIRE_BROWSER") == "1" {
		t.Fatal("VSSUBS_REQUIRE_BROWSER=1 but no chromium on PATH")
	}
	t.Skip("chromium not found: apt-get install chromium to run the browser tests")
	return ""
}

// browser drives one headless Chromium; each user gets a tab of their own browser
// context, so their cookies never mix.
type browser struct {
	t    *testing.T
	root context.Context
	axe  string
	site *site
	shot int

	keys []string // the UI's string keys, which no page may show

	mu   sync.Mutex
	urls []string // every URL any tab requested
}

// requested returns every URL the browser requested so far.
func (b *browser) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.urls)
}

func newBrowser(t *testing.T, s *site) *browser {
	t.Helper()
	exe := chromium(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the machines run as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil { // starts the browser
		cancelRoot()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
	})
	raw, err := os.ReadFile(filepath.Join("locales", "en.json"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, root: root, axe: string(axe), site: s, keys: slices.Collect(maps.Keys(msgs))}
}

// user is one person at their own browser tab.
type user struct {
	b     *browser
	name  string
	ctx   context.Context
	Email string
}

func (b *browser) user(name, email string) *user {
	record := func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.urls = append(b.urls, e.Request.URL)
			b.mu.Unlock()
		}
	}
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext(), chromedp.WithListener(record))
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatal(err)
	}
	return &user{b: b, name: name, ctx: ctx, Email: email}
}

func (u *user) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	u.b.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		u.b.t.Fatalf("%s: %s: %v", u.name, what, err)
	}
}

// open loads a page and returns its status.
func (u *user) open(path string) int64 {
	u.b.t.Helper()
	resp, err := chromedp.Run(u.ctx, chromedp.NavigateResponse(u.b.site.URL+path))
	if err != nil {
		u.b.t.Fatalf("%s: opening %s: %v", u.name, path, err)
	}
	return resp.Status
}

// click clicks what sel finds and waits for the page it leads to.
func (u *user) click(sel string) *network.Response {
	u.b.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		u.b.t.Fatalf("%s: clicking %s: %v", u.name, sel, err)
	}
	return resp
}

// follow clicks a link, trying again (up to three times in all) when the click met the
// page being replaced: the browser aborted the navigation (net::ERR_ABORTED), or the node
// or its document was gone, as happens when the link is clicked while the page it is on
// still finishes loading. Following a link is a GET, so another try changes nothing.
func (u *user) follow(sel string) {
	u.b.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	var err error
	for try := range 3 {
		if try > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		if _, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err == nil || !pageReplaced(err) {
			break
		}
	}
	if err != nil {
		u.b.t.Fatalf("%s: following %s: %v", u.name, sel, err)
	}
}

// pageReplaced reports whether err is the browser's answer to a click on a page that a
// navigation in flight was replacing.
func pageReplaced(err error) bool {
	for _, msg := range []string{"net::ERR_ABORTED", "Could not find node with given id", "Cannot find context with specified id"} {
		if strings.Contains(err.Error(), msg) {
			return true
		}
	}
	return false
}

// fill types values into inputs, replacing what they held.
func (u *user) fill(values map[string]string) {
	u.b.t.Helper()
	for sel, v := range values {
		clear := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel))
		u.do("typing into "+sel, clear, chromedp.SendKeys(chromedp.CSS(sel), v))
	}
}

func (u *user) text(sel string) string {
	u.b.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		body, _ := chromedp.Run(u.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		u.b.t.Fatalf("%s: reading %s at %s: %v; the page reads:\n%s", u.name, sel, u.path(), err, body)
	}
	return s
}

// tick ticks a checkbox by clicking it, unless it is ticked already (a form shown again
// after an error keeps what was ticked).
func (u *user) tick(sel string) {
	u.b.t.Helper()
	on, err := chromedp.Run(u.ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q).checked", sel)))
	if err != nil {
		u.b.t.Fatal(err)
	}
	if !on {
		u.do("ticking "+sel, chromedp.Click(chromedp.CSS(sel)))
	}
}

func (u *user) path() string {
	u.b.t.Helper()
	loc, err := chromedp.Run(u.ctx, chromedp.Location())
	if err != nil {
		u.b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, u.b.site.URL)
}

func (u *user) count(sel string) int {
	u.b.t.Helper()
	n, err := chromedp.Run(u.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		u.b.t.Fatal(err)
	}
	return n
}

// see checks that the page shows want in sel.
func (u *user) see(sel, want string) {
	u.b.t.Helper()
	if got := u.text(sel); !strings.Contains(got, want) {
		u.b.t.Fatalf("%s at %s: %s reads %q, want it to contain %q", u.name, u.path(), sel, got, want)
	}
}

// step names a screen of the story: it must pass axe-core with no serious or critical
// violation, and with -update its screenshot goes under docs/screenshots.
func (u *user) step(name string) {
	u.b.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](u.b.axe)); err != nil {
		u.b.t.Fatalf("%s: injecting axe-core: %v", name, err)
	}
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")))`
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		u.b.t.Fatalf("%s: running axe-core: %v", name, err)
	}
	if len(bad) > 0 {
		u.b.t.Errorf("%s (%s): axe-core found:\n  %s", name, u.path(), strings.Join(bad, "\n  "))
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.innerText + " " + document.title`))
	if err != nil {
		u.b.t.Fatal(err)
	}
	for _, key := range u.b.keys {
		if strings.Contains(body, key) {
			u.b.t.Errorf("%s (%s) shows the string key %q instead of its text", name, u.path(), key)
		}
	}
	u.b.shot++
	if !*update {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.b.t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		u.b.t.Fatal(err)
	}
	file := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", u.b.shot, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		u.b.t.Fatal(err)
	}
}

// fetch reads a URL of the UI from inside the page, with the user's cookies, as a
// download would: its status, Content-Disposition and body.
func (u *user) fetch(path string) (status int, disposition, body string) {
	u.b.t.Helper()
	js := fmt.Sprintf(`fetch(%q).then(async r => JSON.stringify([String(r.status), r.headers.get("Content-Disposition") || "", await r.text()]))`, path)
	raw, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		u.b.t.Fatal(err)
	}
	var out [3]string
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		u.b.t.Fatal(err)
	}
	fmt.Sscan(out[0], &status)
	return status, out[1], out[2]
}
