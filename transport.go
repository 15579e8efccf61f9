package vssubs

import "net/http"

// defaultTransport is the transport of a client given none: net/http's default, keeping
// as many idle connections to the portal as it keeps in all. net/http keeps 2 per host,
// so with more concurrent callers than that each call beyond the second closed its
// connection on return and the next one dialled anew: at 64 callers over loopback, Get's
// throughput fell 46% and the client's CPU per call doubled. A client talks to one
// portal, so every idle connection may be one to it.
func defaultTransport() http.RoundTripper {
	std, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport // replaced by the program (such as httpmock.Activate): keep its choice
	}
	t := std.Clone()
	t.MaxIdleConnsPerHost = max(t.MaxIdleConns, 100)
	return t
}
