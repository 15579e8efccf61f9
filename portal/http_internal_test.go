package portal

import (
	"errors"
	"io"
	"net/textproto"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// TestReadAllReadsWhatTheBodyHolds holds readAll to io.ReadAll's answer whatever length
// the body announced: the announced size only sizes the buffer.
func TestReadAllReadsWhatTheBodyHolds(t *testing.T) {
	const body = `{"email":"a@example.com"}`
	broken := errors.New("connection reset")
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    string
		wantErr error
	}{
		{name: "a body of its announced size is read whole", r: strings.NewReader(body), size: int64(len(body)), want: body},
		{name: "a body longer than announced is read to its end", r: strings.NewReader(body), size: 5, want: body},
		{name: "a body shorter than announced ends where it ends", r: strings.NewReader(body), size: 100, want: body},
		{name: "a body read a byte at a time is read whole", r: iotest.OneByteReader(strings.NewReader(body)), size: int64(len(body)), want: body},
		{name: "a body whose last read also says EOF is read whole", r: iotest.DataErrReader(strings.NewReader(body)), size: int64(len(body)), want: body},
		{name: "a body that announced nothing is read whole", r: strings.NewReader(body), size: -1, want: body},
		{name: "a size over the limit is not trusted", r: strings.NewReader(body), size: 1 << 40, want: body},
		{name: "a failed read is the error", r: io.MultiReader(strings.NewReader("{"), iotest.ErrReader(broken)), size: int64(len(body)), want: "{", wantErr: broken},
		{name: "a failure after the announced size is the error", r: io.MultiReader(strings.NewReader(body), iotest.ErrReader(broken)), size: int64(len(body)), want: body, wantErr: broken},
		{name: "a failure after a longer body is the error", r: io.MultiReader(strings.NewReader(body+"xy"), iotest.ErrReader(broken)), size: int64(len(body)), want: body + "xy", wantErr: broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.r, tt.size, maxBody)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTheHeaderKeysAreTheContractsNamesCanonicalized holds the portal's own keys to the
// contract's names: a key that is not net/http's canonical form of its name would miss the
// header it reads, and write a second one beside it.
func TestTheHeaderKeysAreTheContractsNamesCanonicalized(t *testing.T) {
	for name, key := range map[string]string{
		vssubs.HeaderRequestID:     requestIDKey,
		vssubs.HeaderCorrelationID: correlationIDKey,
	} {
		if want := textproto.CanonicalMIMEHeaderKey(name); key != want {
			t.Errorf("the key of %s is %q, want %q", name, key, want)
		}
	}
}
