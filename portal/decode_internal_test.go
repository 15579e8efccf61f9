package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

func TestAFieldIsNamedAsTheAPISpellsIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ptr        jsontext.Pointer
		lastIsName bool
		want       string
	}{
		{"the whole body", "", false, "body"},
		{"a top-level field", "/customer_email", false, "customer_email"},
		{"a field of a list's object", "/rows/3/email", false, "rows[3].email"},
		{"a list's element", "/lines/0", false, "lines[0]"},
		{"an unknown name of digits is a name, not an index", "/rows/3/7", true, "rows[3].7"},
		{"a top-level name of digits is a name", "/12", false, "12"},
		{"an escaped name", "/a~1b", false, "a/b"},
		{"the empty name", "/rows/0/", true, `rows[0].""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fieldOf(tc.ptr, tc.lastIsName); got != tc.want {
				t.Errorf("fieldOf(%q, %v) = %q, want %q", tc.ptr, tc.lastIsName, got, tc.want)
			}
		})
	}
}

// decodeBody is stricter than encoding/json's own strict mode, never looser: a body it
// takes, v1's decoder with unknown fields refused takes too, into the same value. A body
// it refuses gets one 400 naming a field and a reason.
func FuzzDecodeBodyIsNeverLooserThanV1(f *testing.F) {
	for _, s := range []string{
		`{"rows":[{"row":2,"email":"a@b.com","level":"enterprise"}]}`, `{"rows":[{"email":1}]}`, `{"rows":[{"nope":1}]}`,
		`{"rows":[],"rows":[]}`, `{"rows":[{"email":"a","EMAIL":"b"}]}`, `{"rows":[]} {}`, `{"rows":[]} `, `{"rows":`,
		"{\"rows\":[{\"first_name\":\"\xff\"}]}", `{"\u0072ows":[]}`, ``, ` `, `null`, `[]`, `{"rows":[{"row":1e400}]}`,
		`{"Rows":[]}`, `{"rows":[{"downloads":"x"}]}`, `{"rows":[[[[]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got, want wire.BulkChunk[vssubs.BulkRow]
		err := decodeBody(raw, &got)
		if err != nil {
			var ae *vssubs.APIError
			if !errors.As(err, &ae) || ae.StatusCode != 400 || len(ae.Fields) != 1 || ae.Fields[0].Field == "" || ae.Fields[0].Reason == "" {
				t.Fatalf("%q: refused with %#v, want a 400 naming one field and its reason", raw, err)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q: decodeBody took it, v1 refuses it: %v", raw, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q: the value differs (-v1 +decodeBody):\n%s", raw, diff)
		}
	})
}
