package portal

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// plainJSON is only a fast path: whenever it passes a body, the token walk must find
// nothing wrong with it, and every problem the walk names must send the body to it.
func TestPlainJSONPassesOnlyWhatTheWalkPasses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		plain bool
	}{
		{"a flat object of ASCII keys", `{"email":"a@b.com","level":"enterprise","first_name":"Ann"}`, true},
		{"nested objects and arrays", `{"rows":[{"email":"a@b.com"},{"email":"c@d.com"}],"total":2}`, true},
		{"the same key in sibling objects", `[{"a":1},{"a":2}]`, true},
		{"a key's name as a value", `{"a":"a","b":{"a":"b"}}`, true},
		{"escapes inside values", `{"a":"x\"y\\z","b":"\u00e9"}`, true},
		{"a scalar", `"text"`, true},
		{"a key given twice", `{"a":1,"a":2}`, false},
		{"a key given twice in another case", `{"email":1,"EMAIL":2}`, false},
		{"a key given twice after a nested object", `{"a":{"b":1},"a":2}`, false},
		{"a key given twice inside an array's object", `{"rows":[{"x":1,"y":2,"x":3}]}`, false},
		{"an escaped key", `{"\u0061":1}`, false},
		{"a non-ASCII key, folded by the walk", `{"\u212a":1}`, false},
		{"the Kelvin sign and k", "{\"k\":1,\"\u212a\":2}", false},
		{"nesting at the limit", strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), false},
		{"data after the value", `{} {}`, false},
		{"not JSON", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.body)
			if got := plainJSON(raw); got != tc.plain {
				t.Errorf("plainJSON(%s) = %v, want %v", tc.body, got, tc.plain)
			}
			if plainJSON(raw) {
				if fe := walkBody(raw); fe != nil {
					t.Errorf("plainJSON passed %s, the walk says %+v", tc.body, *fe)
				}
			}
		})
	}
}

func FuzzPlainJSONAgreesWithTheWalk(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":{"a":1},"b":[1,{"a":2,"a":3}]}`, `[[[]]]`, `{"k":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if invalidUTF8(raw) >= 0 || !plainJSON(raw) {
			return
		}
		if fe := walkBody(raw); fe != nil {
			t.Fatalf("plainJSON passed %q, the walk says %+v", raw, *fe)
		}
	})
}

// checkThenDecode is decodeBody as its rule reads: strictJSON's problems first, then the
// decoder's. decodeBody decodes first, to skip a scan, and must answer the same.
func checkThenDecode(raw []byte, v any) error {
	if fe := strictJSON(raw); fe != nil {
		return badBody(*fe)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badBody(jsonProblem(err))
	}
	return nil
}

func FuzzDecodeBodyAnswersAsTheRuleReads(f *testing.F) {
	for _, s := range []string{
		`{"rows":[{"row":2,"email":"a@b.com","level":"enterprise"}]}`, `{"rows":[{"email":1}]}`, `{"rows":[{"nope":1}]}`,
		`{"rows":[],"rows":[]}`, `{"rows":[{"email":"a","EMAIL":"b"}]}`, `{"rows":[]} {}`, `{"rows":[]} `, `{"rows":`,
		"{\"rows\":[{\"first_name\":\"\xff\"}]}", `{"\u0072ows":[]}`, ``, ` `, `null`, `[]`, `{"rows":[{"row":1e400}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got, want wire.BulkChunk[vssubs.BulkRow]
		gotErr, wantErr := decodeBody(raw, &got), checkThenDecode(raw, &want)
		if diff := cmp.Diff(wantErr, gotErr); diff != "" {
			t.Fatalf("%q: the error differs (-rule +decodeBody):\n%s", raw, diff)
		}
		if wantErr == nil {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%q: the value differs (-rule +decodeBody):\n%s", raw, diff)
			}
		}
	})
}
