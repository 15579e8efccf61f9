package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/bench/peers/oapicodegen"
	"github.com/vssubs/vssubs-go/internal/bench/peers/ogen"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// The peers are the clients that ogen and oapi-codegen generate from api/openapi.yaml.
// Each benchmark below makes the same call as its vssubs counterpart, to the same
// server, with the same headers (a bearer token, a fresh correlation id, the language),
// and decodes the same answer.

// PagePeerSize is the size of the list page the peer benchmarks fetch.
const PagePeerSize = 100

// pageServer answers one agreement's subscriber list with a canned last page of
// PagePeerSize subscribers, the size of a real portal answer, so that the peers and
// vssubs spend their time on the client's side only.
func pageServer(tb testing.TB) (*httptest.Server, *http.Client) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	page := wire.Page[vssubs.Subscriber]{Items: make([]vssubs.Subscriber, PagePeerSize)}
	for i := range page.Items {
		page.Items[i] = vssubs.Subscriber{ID: fmt.Sprintf("sub_%06d", i+1), AgreementID: getAgreement,
			SubscriberInput: subscriber(i), Status: vssubs.StatusAssigned, AssignedAt: at, UpdatedAt: at}
	}
	body, err := json.Marshal(page)
	if err != nil {
		panic(err) // a fixed literal always encodes
	}
	path := fmt.Sprintf("/v1/agreements/%s/subscribers", getAgreement)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Header.Get("Authorization") != "Bearer "+getToken {
			http.Error(w, `{"code":"not_found","message":"no such agreement"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(vssubs.HeaderRequestID, "req_0123456789abcdef")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv, srv.Client()
}

func correlationID() string {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:])
}

// bearer is the ogen client's source of the token.
type bearer struct{}

func (bearer) BearerAuth(context.Context, ogen.OperationName) (ogen.BearerAuth, error) {
	return ogen.BearerAuth{Token: getToken}, nil
}

func newOgen(tb testing.TB, url string, hc *http.Client) *ogen.Client {
	c, err := ogen.NewClient(url, bearer{}, ogen.WithClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func newOapi(tb testing.TB, url string, hc *http.Client) *oapicodegen.ClientWithResponses {
	c, err := oapicodegen.NewClientWithResponses(url, oapicodegen.WithHTTPClient(hc),
		oapicodegen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+getToken)
			return nil
		}))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func ogenGet(ctx context.Context, c *ogen.Client) (*ogen.Subscriber, error) {
	res, err := c.GetSubscriber(ctx, ogen.GetSubscriberParams{Agreement: getAgreement, Subscriber: getSubscriber,
		XCorrelationID: ogen.NewOptString(correlationID()), AcceptLanguage: ogen.NewOptString(string(vssubs.LangEnglish))})
	if err != nil {
		return nil, err
	}
	ok, isOK := res.(*ogen.GetSubscriberOKHeaders)
	if !isOK {
		return nil, fmt.Errorf("ogen: GetSubscriber answered %T", res)
	}
	return &ok.Response, nil
}

func oapiGet(ctx context.Context, c *oapicodegen.ClientWithResponses) (*oapicodegen.Subscriber, error) {
	id, lang := correlationID(), string(vssubs.LangEnglish)
	res, err := c.GetSubscriberWithResponse(ctx, getAgreement, getSubscriber,
		&oapicodegen.GetSubscriberParams{XCorrelationID: &id, AcceptLanguage: &lang})
	if err != nil {
		return nil, err
	}
	if res.JSON200 == nil {
		return nil, fmt.Errorf("oapi-codegen: GetSubscriber answered %d", res.StatusCode())
	}
	return res.JSON200, nil
}

// OgenGet is ClientGet through the client ogen generates.
func OgenGet(b *testing.B) {
	srv, hc := getServer(b)
	c := newOgen(b, srv.URL, hc)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		if s, err := ogenGet(ctx, c); err != nil || s.ID != getSubscriber {
			b.Fatalf("GetSubscriber = %v, %v", s, err)
		}
	}
}

// OapiGet is ClientGet through the client oapi-codegen generates.
func OapiGet(b *testing.B) {
	srv, hc := getServer(b)
	c := newOapi(b, srv.URL, hc)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		if s, err := oapiGet(ctx, c); err != nil || s.Id != getSubscriber {
			b.Fatalf("GetSubscriber = %v, %v", s, err)
		}
	}
}

func clientPage(ctx context.Context, c *vssubs.Client) (n int, err error) {
	for _, err := range c.Subscribers.List(ctx, getAgreement, vssubs.SubscriberFilter{PageSize: PagePeerSize}) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func ogenPage(ctx context.Context, c *ogen.Client) ([]ogen.Subscriber, error) {
	res, err := c.ListSubscribers(ctx, ogen.ListSubscribersParams{Agreement: getAgreement, Limit: ogen.NewOptInt(PagePeerSize),
		XCorrelationID: ogen.NewOptString(correlationID()), AcceptLanguage: ogen.NewOptString(string(vssubs.LangEnglish))})
	if err != nil {
		return nil, err
	}
	page, ok := res.(*ogen.SubscriberPageHeaders)
	if !ok {
		return nil, fmt.Errorf("ogen: ListSubscribers answered %T", res)
	}
	return page.Response.Items, nil
}

func oapiPage(ctx context.Context, c *oapicodegen.ClientWithResponses) ([]oapicodegen.Subscriber, error) {
	id, lang, limit := correlationID(), string(vssubs.LangEnglish), PagePeerSize
	res, err := c.ListSubscribersWithResponse(ctx, getAgreement,
		&oapicodegen.ListSubscribersParams{Limit: &limit, XCorrelationID: &id, AcceptLanguage: &lang})
	if err != nil {
		return nil, err
	}
	if res.JSON200 == nil {
		return nil, fmt.Errorf("oapi-codegen: ListSubscribers answered %d", res.StatusCode())
	}
	return res.JSON200.Items, nil
}

// ClientPage measures fetching and iterating one page of PagePeerSize subscribers
// through Subscribers.List.
func ClientPage(b *testing.B) {
	srv, hc := pageServer(b)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc),
		vssubs.WithCredential(vssubs.StaticToken(getToken)))
	must(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		if n, err := clientPage(ctx, c); err != nil || n != PagePeerSize {
			b.Fatalf("List = %d subscribers, %v", n, err)
		}
	}
}

// OgenPage is ClientPage through the client ogen generates.
func OgenPage(b *testing.B) {
	srv, hc := pageServer(b)
	c := newOgen(b, srv.URL, hc)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		if items, err := ogenPage(ctx, c); err != nil || len(items) != PagePeerSize {
			b.Fatalf("ListSubscribers = %d subscribers, %v", len(items), err)
		}
	}
}

// OapiPage is ClientPage through the client oapi-codegen generates.
func OapiPage(b *testing.B) {
	srv, hc := pageServer(b)
	c := newOapi(b, srv.URL, hc)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		if items, err := oapiPage(ctx, c); err != nil || len(items) != PagePeerSize {
			b.Fatalf("ListSubscribers = %d subscribers, %v", len(items), err)
		}
	}
}

// ConcurrentCallers is how many goroutines the concurrency benchmarks call from.
const ConcurrentCallers = 64

// ConcurrentGetDefault measures Subscribers.Get from ConcurrentCallers goroutines through
// a client built with no transport of the caller's, as most programs build it.
func ConcurrentGetDefault(b *testing.B) { concurrentGet(b, nil) }

// ConcurrentGetTuned is the baseline of ConcurrentGetDefault: the same client, with the
// same per-attempt timeout as NewClient's default, over a transport tuned by hand for
// that many callers to one host.
func ConcurrentGetTuned(b *testing.B) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit
	t.MaxIdleConnsPerHost = 4 * ConcurrentCallers
	b.Cleanup(t.CloseIdleConnections)
	concurrentGet(b, vssubs.WithHTTPClient(&http.Client{Transport: t, Timeout: DefaultClientTimeout}))
}

// DefaultClientTimeout is the per-attempt timeout of a client built without
// WithHTTPClient.
const DefaultClientTimeout = 60 * time.Second

func concurrentGet(b *testing.B, transport vssubs.Option) {
	srv, _ := getServer(b)
	opts := []vssubs.Option{vssubs.WithBaseURL(srv.URL), vssubs.WithCredential(vssubs.StaticToken(getToken))}
	if transport != nil {
		opts = append(opts, transport)
	}
	c, err := vssubs.NewClient(opts...)
	must(b, err)
	ctx := context.Background()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((ConcurrentCallers + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	failed := make(chan error, 1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s, err := c.Subscribers.Get(ctx, getAgreement, getSubscriber)
			if err == nil && s.ID != getSubscriber {
				err = fmt.Errorf("got subscriber %q", s.ID)
			}
			if err != nil {
				select {
				case failed <- err:
				default:
				}
				return
			}
		}
	})
	select {
	case err := <-failed:
		b.Fatal(err)
	default:
	}
}
