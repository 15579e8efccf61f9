package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	vssubs "github.com/vssubs/vssubs-go"
)

// maxJSONDepth bounds how deeply a body may nest; no request of the API needs more than 4.
const maxJSONDepth = 32

// decode reads the JSON body into v, strictly, and answers 400 naming the problem when
// the body is anything but one JSON value of v's shape: invalid UTF-8 (found in the raw
// bytes, before a decoder could replace it with U+FFFD), a key given twice (a decoder
// keeps the last one, a proxy or log may read the first), an unknown field, or data after
// the value. The route's size limit was applied before anything read the body.
func decode(rq *request, v any) error {
	raw, err := rq.body()
	if err != nil {
		return bodyReadError(err)
	}
	return decodeBody(raw, v)
}

// decodeBody is decode once the body is read.
func decodeBody(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// strictJSON's problems come first, as they would before decoding.
		if fe := strictJSON(raw); fe != nil {
			return badBody(*fe)
		}
		return badBody(jsonProblem(err))
	}
	// The decoder scanned the value whole, so a body whose value is all of it is valid
	// JSON: plainKeys may skip json.Valid's scan, a sixth of a bulk chunk's decoding.
	// Anything else gets strictJSON in full.
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 || invalidUTF8(raw) >= 0 || !plainKeys(raw) {
		if fe := strictJSON(raw); fe != nil {
			return badBody(*fe)
		}
	}
	return nil
}

// bodyReadError answers a body that could not be read: over the route's limit (413), or
// cut off, such as by the server's read timeout (400).
func bodyReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		e := apiError(http.StatusRequestEntityTooLarge, vssubs.CodeValidation, fmt.Sprintf("request body over %d bytes", mbe.Limit))
		e.Fields = []vssubs.FieldError{{Field: "body", Reason: fmt.Sprintf("must be at most %d bytes", mbe.Limit)}}
		return e
	}
	return badBody(vssubs.FieldError{Field: "body", Reason: "could not be read to its end"})
}

func badBody(fe vssubs.FieldError) error {
	msg := "malformed JSON body"
	if fe.Field != "body" {
		msg = "the JSON body does not fit this request"
	}
	e := apiError(http.StatusBadRequest, vssubs.CodeValidation, msg)
	e.Fields = []vssubs.FieldError{fe}
	return e
}

// strictJSON returns the first problem of raw as a single JSON value, or nil.
func strictJSON(raw []byte) *vssubs.FieldError {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &vssubs.FieldError{Field: "body", Reason: "is required: a JSON object"}
	}
	if off := invalidUTF8(raw); off >= 0 {
		return &vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid UTF-8: byte 0x%02X at offset %d", raw[off], off)}
	}
	if plainJSON(raw) {
		return nil
	}
	// A problem, or a body plainJSON cannot judge: the token walk finds and names it.
	return walkBody(raw)
}

// walkBody is strictJSON's slow path: it reads raw token by token.
func walkBody(raw []byte) *vssubs.FieldError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if fe := (&jsonWalk{dec: dec}).value(0); fe != nil {
		return fe
	}
	if _, err := dec.Token(); err != io.EOF {
		return &vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("has data after the JSON value, at offset %d", dec.InputOffset())}
	}
	return nil
}

// plainJSON reports whether raw is surely free of strictJSON's problems: one valid JSON
// value, nested less than maxJSONDepth deep, whose object keys are ASCII without escapes
// and distinct within each object. It is the fast path of every request body: the token
// walk costs more than the decoding itself. False means "walk it", not "bad".
func plainJSON(raw []byte) bool {
	return json.Valid(raw) && plainKeys(raw)
}

// plainKeys is plainJSON for raw known to be one valid JSON value: it follows only
// strings and nesting, and would misread, or run past the end of, anything else.
func plainKeys(raw []byte) bool {
	// keys holds the keys of every open object, innermost last; open[d] is where the
	// keys of the object at depth d start, or -1 for an array.
	var (
		// Room for the keys and nesting of any request but a bulk chunk, on the stack.
		keySpace  [32][]byte
		openSpace [8]int
		keys      = keySpace[:0]
		open      = openSpace[:0]
		expectKey bool // the next string in the current object is a key
	)
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			if len(open)+1 >= maxJSONDepth {
				return false
			}
			start := -1
			if c == '{' {
				start = len(keys)
			}
			open = append(open, start)
			expectKey = c == '{'
		case '}', ']':
			if start := open[len(open)-1]; start >= 0 {
				keys = keys[:start]
			}
			open = open[:len(open)-1]
			expectKey = false
		case ',':
			expectKey = len(open) > 0 && open[len(open)-1] >= 0
		case '"':
			end := i + 1
			for raw[end] != '"' {
				if raw[end] == '\\' {
					if expectKey {
						return false // an escaped key: the walk compares it unescaped
					}
					end++
				}
				end++
			}
			if expectKey {
				key := raw[i+1 : end]
				if !isASCII(key) {
					return false
				}
				mine := keys[open[len(open)-1]:]
				if len(mine) >= 64 {
					return false // many keys: the walk's map beats comparing each pair
				}
				for _, k := range mine {
					// For ASCII keys folding is EqualFold: the other members of a class
					// (the Kelvin sign, the long s) are not ASCII.
					if bytes.EqualFold(k, key) {
						return false
					}
				}
				keys = append(keys, key)
				expectKey = false
			}
			i = end
		}
	}
	return true
}

// invalidUTF8 is the offset of the first byte of b that is not UTF-8, or -1. Every body
// is checked, so the common valid one is confirmed by utf8.Valid's fast scan alone.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// jsonWalk reads one value from dec and reports a key repeated within an object, at the
// path where it appears. Keys are compared as encoding/json matches them to fields,
// ignoring case, so "email" and "EMAIL" are the same key. The path is kept as segments
// and spelled out only for an error: a 10,000-row bulk chunk is 80,000 keys.
type jsonWalk struct {
	dec  *json.Decoder
	path []pathSegment
}

// pathSegment is an object key, or an array index when key is "".
type pathSegment struct {
	key   string
	index int
}

func (w *jsonWalk) field() string {
	var b strings.Builder
	for i, seg := range w.path {
		switch {
		case seg.key == "":
			b.WriteString("[" + strconv.Itoa(seg.index) + "]")
		case i > 0:
			b.WriteString("." + seg.key)
		default:
			b.WriteString(seg.key)
		}
	}
	return b.String()
}

func (w *jsonWalk) value(depth int) *vssubs.FieldError {
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxProblem(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return &vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("nests deeper than %d levels", maxJSONDepth)}
	}
	switch d {
	case '{':
		var seen keySet
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return syntaxProblem(err)
			}
			key, _ := kt.(string)
			w.path = append(w.path, pathSegment{key: key})
			if !seen.add(key) {
				return &vssubs.FieldError{Field: w.field(), Reason: "appears more than once in the same object"}
			}
			if fe := w.value(depth + 1); fe != nil {
				return fe
			}
			w.path = w.path[:len(w.path)-1]
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			w.path = append(w.path, pathSegment{index: i})
			if fe := w.value(depth + 1); fe != nil {
				return fe
			}
			w.path = w.path[:len(w.path)-1]
		}
	}
	if _, err := w.dec.Token(); err != nil { // the closing delimiter
		return syntaxProblem(err)
	}
	return nil
}

// keySet holds an object's keys as encoding/json matches them: a few in a slice, which
// most objects need, more in a map, so a body of many keys stays linear.
type keySet struct {
	few  []string
	many map[string]bool
}

// add adds key, or reports false when the set holds it already.
func (k *keySet) add(key string) bool {
	if k.many == nil && len(k.few) < 16 {
		if slices.ContainsFunc(k.few, func(s string) bool { return sameKey(s, key) }) {
			return false
		}
		k.few = append(k.few, key)
		return true
	}
	if k.many == nil {
		k.many = map[string]bool{}
		for _, s := range k.few {
			k.many[foldKey(s)] = true
		}
	}
	f := foldKey(key)
	if k.many[f] {
		return false
	}
	k.many[f] = true
	return true
}

// sameKey reports whether encoding/json would match a and b to the same field.
func sameKey(a, b string) bool {
	if isASCII(a) && isASCII(b) {
		// In ASCII, case folding is the only equivalence.
		return strings.EqualFold(a, b)
	}
	return foldKey(a) == foldKey(b)
}

func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldKey maps every rune to the smallest of its case-folding orbit (K, k and the Kelvin
// sign to K), as encoding/json compares field names.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

// jsonProblem names the field of a decoding error and says what it must be.
func jsonProblem(err error) vssubs.FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return vssubs.FieldError{Field: field, Reason: fmt.Sprintf("must be %s, not a JSON %s", kindName(te.Type), te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, err := strconv.Unquote(name); err == nil {
			name = unq
		}
		return vssubs.FieldError{Field: name, Reason: "is not a field of this request"}
	}
	return *syntaxProblem(err)
}

// syntaxProblem says where and why the body is not JSON.
func syntaxProblem(err error) *vssubs.FieldError {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &vssubs.FieldError{Field: "body", Reason: "is not valid JSON: it ends before the value is complete"}
	case errors.As(err, &se):
		return &vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid JSON at offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))}
	}
	return &vssubs.FieldError{Field: "body", Reason: "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number within range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}
