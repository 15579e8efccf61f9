package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/webui"
)

// UISubscribers is how many subscribers the agreement holds when the browser UI's pages
// are timed; GoalPageMs is the most server time any page may take then.
const (
	UISubscribers = 100_000
	GoalPageMs    = 50.0
)

// uiFixture is the browser UI over an embedded portal, with a customer signed in.
type uiFixture struct {
	f      *agreementFixture
	ui     *webui.UI
	cookie *http.Cookie
	// pages are the paths timed, by name.
	pages []uiPage
}

type uiPage struct{ name, path string }

func newUIFixture(ctx context.Context, subscribers int) (*uiFixture, error) {
	f, err := newAgreement(ctx, subscribers)
	if err != nil {
		return nil, err
	}
	if _, err := f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: bulkRows(subscribers)}); err != nil {
		return nil, errors.Join(err, f.close(ctx))
	}
	// The 100k assignment emails are rendered by the outbox's workers: let them finish,
	// so they do not share the CPU with the pages timed.
	if err := f.p.Flush(ctx); err != nil {
		return nil, errors.Join(err, f.close(ctx))
	}
	ui, err := webui.New(
		webui.WithAPI(portal.InProcessURL, f.p.Transport()),
		webui.WithDevSignIn(func(_ context.Context, email string) (string, error) { return f.p.Token(email), nil }),
	)
	if err != nil {
		return nil, errors.Join(err, f.close(ctx))
	}
	u := &uiFixture{f: f, ui: ui}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"email": {customerEmail}}.Encode())).WithContext(ctx)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ui.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "vssubs_session" {
			u.cookie = c
		}
	}
	if u.cookie == nil {
		return nil, errors.Join(fmt.Errorf("bench: signing in to the UI answered %d", rec.Code), f.close(ctx))
	}
	items, _, err := f.c.Subscribers.ListPage(ctx, f.agreementID, vssubs.SubscriberFilter{PageSize: 1}, "")
	if err != nil || len(items) == 0 {
		return nil, errors.Join(fmt.Errorf("bench: no subscriber to edit: %v", err), f.close(ctx))
	}
	last := fmt.Sprintf("Number%06d", subscribers-1)
	a := "/agreements/" + f.agreementID
	u.pages = []uiPage{
		{"overview", a},
		{"subscribers, first page", a + "/subscribers"},
		{"subscribers, search matching the last one", a + "/subscribers?q=" + last},
		{"subscribers, level filter", a + "/subscribers?level=enterprise"},
		{"subscriber edit form", a + "/subscribers/" + items[0].ID + "/edit"},
		{"bulk add", a + "/subscribers/bulk"},
		{"admins", a + "/admins"},
		{"partners", a + "/partners"},
		{"relationship summary", "/vlsc"},
	}
	return u, nil
}

func (u *uiFixture) close(ctx context.Context) error { return u.f.close(ctx) }

// page times one page: the UI's handler from request to the last byte, with every API
// call it makes to the embedded portal.
func (u *uiFixture) page(path string) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", path, nil)
			req.AddCookie(u.cookie)
			u.ui.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s answered %d:\n%s", path, rec.Code, rec.Body)
			}
		}
	}
}

// uiFixtures builds, once per run, the UI over UISubscribers subscribers and over ten.
func (s *Suite) uiFixtures(ctx context.Context) (big, small *uiFixture, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uiBig == nil {
		if s.uiBig, err = newUIFixture(ctx, UISubscribers); err != nil {
			return nil, nil, err
		}
		if s.uiSmall, err = newUIFixture(ctx, 10); err != nil {
			return nil, nil, err
		}
	}
	return s.uiBig, s.uiSmall, nil
}

// UIPages benchmarks every page of the browser UI with UISubscribers subscribers in the
// agreement, one sub-benchmark per page.
func (s *Suite) UIPages(b *testing.B) {
	b.StopTimer()
	big, _, err := s.uiFixtures(context.Background())
	must(b, err)
	b.StartTimer()
	for _, p := range big.pages {
		b.Run(strings.ReplaceAll(p.name, " ", "_"), big.page(p.path))
	}
}

// measureUIPages times each page with 100k subscribers and with ten, and reports the
// slowest page against the goal; the small agreement shows what size costs.
func measureUIPages(s *Suite) (Figure, error) {
	big, small, err := s.uiFixtures(context.Background())
	if err != nil {
		return Figure{}, err
	}
	var worst, worstSmall testing.BenchmarkResult
	name := ""
	for i, p := range big.pages {
		r, err := run("UI "+p.name, big.page(p.path))
		if err != nil {
			return Figure{}, err
		}
		rs, err := run("UI "+p.name+" (10 subscribers)", small.page(small.pages[i].path))
		if err != nil {
			return Figure{}, err
		}
		if r.NsPerOp() > worst.NsPerOp() {
			worst, worstSmall, name = r, rs, p.name
		}
	}
	ms := float64(worst.NsPerOp()) / float64(time.Millisecond)
	return Figure{CPURatio: cpuRatio(worst, worstSmall),
		Name: fmt.Sprintf("slowest of %d UI pages, %d subscribers", len(big.pages), UISubscribers),
		Measured: fmt.Sprintf("%s (%s), CPU %s, %d allocs/op", time.Duration(worst.NsPerOp()).Round(time.Microsecond), name,
			time.Duration(worst.Extra["cpu-ns/op"]).Round(time.Microsecond), worst.AllocsPerOp()),
		Baseline: fmt.Sprintf("%s (the same page, 10 subscribers)", time.Duration(worstSmall.NsPerOp()).Round(time.Microsecond)),
		Ratio:    float64(worst.NsPerOp()) / float64(worstSmall.NsPerOp()),
		Goal:     fmt.Sprintf("≤ %.0f ms", GoalPageMs), Met: ms <= GoalPageMs,
		Note: "server time, API in process",
	}, nil
}
