package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	vssubs "github.com/vssubs/vssubs-go"
)

// strictDecoding is how every request body is decoded: by json v2 (encoding/json/v2 from
// Go 1.27; its mirror module until the project moves there), whose defaults already refuse
// invalid UTF-8 and a member name given twice, with unknown members refused too. Names
// match fields exactly, as the contract spells them: v1's case-insensitive matching let
// "email" and "EMAIL" both set one field, which a proxy or a log may read differently.
var strictDecoding = jsonv2.RejectUnknownMembers(true)

// decode reads the JSON body into v, strictly, and answers 400 naming the problem when
// the body is anything but one JSON value of v's shape: invalid UTF-8, a name given
// twice in one object, an unknown field, a value of the wrong type, or data after the
// value. The route's size limit was applied before anything read the body.
func decode(rq *request, v any) error {
	raw, err := rq.body()
	if err != nil {
		return bodyReadError(err)
	}
	return decodeBody(raw, v)
}

// decodeBody is decode once the body is read.
func decodeBody(raw []byte, v any) error {
	err := jsonv2.Unmarshal(raw, v, strictDecoding)
	if err == nil {
		return nil
	}
	return badBody(jsonProblem(raw, err))
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

// jsonProblem names the field of a decoding error of raw and says what it must be.
// Invalid UTF-8 is named by its first byte in raw, wherever the decoder stopped.
func jsonProblem(raw []byte, err error) vssubs.FieldError {
	if len(bytes.TrimSpace(raw)) == 0 {
		return vssubs.FieldError{Field: "body", Reason: "is required: a JSON object"}
	}
	if off := invalidUTF8(raw); off >= 0 {
		return vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid UTF-8: byte 0x%02X at offset %d", raw[off], off)}
	}
	var se *jsontext.SyntacticError
	var me *jsonv2.SemanticError
	switch {
	case errors.As(err, &se):
		switch {
		case errors.Is(se.Err, jsontext.ErrDuplicateName):
			return vssubs.FieldError{Field: fieldOf(se.JSONPointer, true), Reason: "appears more than once in the same object"}
		case errors.Is(se.Err, io.ErrUnexpectedEOF):
			return vssubs.FieldError{Field: "body", Reason: "is not valid JSON: it ends before the value is complete"}
		case se.JSONPointer == "" && json.Valid(raw[:se.ByteOffset]):
			// What precedes the error is one whole value: the error is what follows it.
			return vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("has data after the JSON value, at offset %d", se.ByteOffset)}
		}
		return vssubs.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid JSON at offset %d: %v", se.ByteOffset, se.Err)}
	case errors.As(err, &me):
		if errors.Is(me.Err, jsonv2.ErrUnknownName) {
			return vssubs.FieldError{Field: fieldOf(me.JSONPointer, true), Reason: "is not a field of this request"}
		}
		reason := "does not fit this request"
		if me.GoType != nil {
			reason = "must be " + kindName(me.GoType)
		}
		if got := jsonKindName(me.JSONKind); got != "" {
			if me.JSONKind == '0' && len(me.JSONValue) > 0 {
				got += " " + string(me.JSONValue)
			}
			reason += ", not a JSON " + got
		}
		return vssubs.FieldError{Field: fieldOf(me.JSONPointer, false), Reason: reason}
	}
	return vssubs.FieldError{Field: "body", Reason: "is not valid JSON: " + err.Error()}
}

// fieldOf spells a JSON pointer as the API names fields: rows[3].email, or body for the
// whole. Every request is an object of objects and lists, without maps, so a token of
// digits below the top is a list index; the name a decoder did not know, or found twice,
// is always the last token, which a caller marks with lastIsName. The empty name is
// spelled "".
func fieldOf(ptr jsontext.Pointer, lastIsName bool) string {
	var toks []string
	for tok := range ptr.Tokens() {
		if tok == "" {
			tok = `""`
		}
		toks = append(toks, tok)
	}
	if len(toks) == 0 {
		return "body"
	}
	var b strings.Builder
	for i, tok := range toks {
		index := i > 0 && strings.Trim(tok, "0123456789") == "" && !(lastIsName && i == len(toks)-1)
		switch {
		case index:
			b.WriteString("[" + tok + "]")
		case i > 0:
			b.WriteString("." + tok)
		default:
			b.WriteString(tok)
		}
	}
	return b.String()
}

// jsonKindName says what a JSON value of kind k is, as v1's errors did, or "" for a
// kind no field refuses (null).
func jsonKindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return ""
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
