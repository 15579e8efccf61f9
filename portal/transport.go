package portal

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strconv"
)

// Transport returns an http.RoundTripper that calls the portal's handler directly, with no
// socket, so a program runs the whole workflow in one process. Each round trip yields the
// processor once, as one over a socket would block, so that a caller sending requests
// back to back shares the processors with the portal's other callers.
func (p *Portal) Transport() http.RoundTripper { return inProcess{h: p} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	// A RoundTripper must not modify the caller's request, so the handler gets a clone.
	// It reads the caller's body itself, with no copy in between: the portal's handlers
	// are done with it when ServeHTTP returns, before the caller may reuse it.
	in := req.Clone(req.Context())
	// Handlers get a non-nil Body, as net/http's server guarantees.
	in.Body = http.NoBody
	if req.Body != nil {
		in.Body = io.NopCloser(req.Body)
		defer req.Body.Close()
	}
	if in.RemoteAddr == "" {
		in.RemoteAddr = "in-process"
	}
	in.RequestURI = in.URL.RequestURI()
	w := &recorder{header: http.Header{}}
	t.h.ServeHTTP(w, in)
	// A request over a socket blocks for its answer, and the scheduler runs someone else
	// meanwhile; in process it does not. Without this yield, a caller sending requests
	// back to back (a bulk add's chunks) held its processor for whole 10 ms time slices,
	// and every other request to the portal waited behind it: reads of other agreements
	// took up to 90 ms during a bulk add instead of 66 ms.
	runtime.Gosched()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(&w.body),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the minimal http.ResponseWriter the in-process transport needs.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
