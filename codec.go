package vssubs

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vssubs/vssubs-go/internal/wire"
)

// The client decodes its answers with encoding/json, except the two it decodes most,
// a subscriber and a page of subscribers, which have hand-written decoders here. Why:
// encoding/json's reflection made a 100-subscriber page 1.5× slower to decode than the
// client ogen generates (go-faster/jx with generated decoders), and the alternatives
// cost more than they give: encoding/json/v2 needs a GOEXPERIMENT no user should have to
// set, and github.com/go-json-experiment/json or jx would add packages to every
// program that imports the client, whose dependency tree is kept small on purpose.
//
// The fast decoders accept only a strict subset of JSON: the fields they know, strings
// without escapes, no nulls. Anything else, a field added by a newer portal, a name
// with an escaped character, malformed input, is handed to encoding/json on the same
// bytes, so the result is always exactly what encoding/json would decode (the
// differential fuzz test FuzzFastDecodeMatchesEncodingJSON holds them to it).

// decodeJSON decodes a 2xx answer's body into out, a pointer to a zero value. size is
// the body's length when known (Content-Length), else -1. The body is read into a buffer
// from bodies, returned there afterwards: both decoders copy what they keep.
func decodeJSON(bodies *sync.Pool, r io.Reader, size int64, out any) error {
	switch out.(type) {
	case *Subscriber, *wire.Page[Subscriber]:
	default:
		return json.NewDecoder(r).Decode(out)
	}
	buf, _ := bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	if size > 0 && size < maxPooledBody {
		buf.Grow(int(size) + bytes.MinRead) // ReadFrom wants MinRead spare bytes before it sees EOF
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	data := buf.Bytes()
	switch v := out.(type) {
	case *Subscriber:
		s := jsonScan{b: data}
		var sub Subscriber
		if s.subscriber(&sub) && s.end() {
			*v = sub
			return nil
		}
	case *wire.Page[Subscriber]:
		s := jsonScan{b: data}
		var page wire.Page[Subscriber]
		if s.subscriberPage(&page) && s.end() {
			*v = page
			return nil
		}
	}
	return decodeStd(data, out)
}

// maxPooledBody is the largest buffer kept for reuse: a page of MaxPageSize subscribers
// is about 350 kB.
const maxPooledBody = 1 << 20

// decodeStd is encoding/json's decoding of a body already read, with the Decoder's rules
// (which ignore data after the first value) rather than Unmarshal's, as for any answer.
func decodeStd(data []byte, out any) error {
	return json.NewDecoder(bytes.NewReader(data)).Decode(out)
}

// jsonScan reads JSON from b at i. Each method reports false when the input is not in the
// subset the fast decoders accept, and the caller then falls back to encoding/json.
type jsonScan struct {
	b []byte
	i int
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *jsonScan) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

func (s *jsonScan) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *jsonScan) end() bool { return s.peek() == 0 && s.i == len(s.b) }

// str reads a string and returns its bytes without the quotes. A string with an escape,
// a control character or invalid UTF-8 (which encoding/json replaces with U+FFFD) is
// left to encoding/json.
func (s *jsonScan) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start, ascii := s.i, true
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, ascii || utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// object reads an object, calling field with each key, positioned at the key's value;
// field reads the value and returns false to give up.
func (s *jsonScan) object(field func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok || !s.eat(':') || !field(k) {
			return false
		}
		if !s.eat(',') {
			return s.eat('}')
		}
	}
}

func scanString[T ~string](s *jsonScan, p *T) bool {
	v, ok := s.str()
	*p = T(v)
	return ok
}

func (s *jsonScan) bool(p *bool) bool {
	for _, lit := range [...]string{"true", "false"} {
		if s.peek() == lit[0] && bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			*p = lit == "true"
			return true
		}
	}
	return false
}

// time decodes a timestamp with time.Time's own UnmarshalJSON, as encoding/json does, so
// both accept exactly the same forms.
func (s *jsonScan) time(p *time.Time) bool {
	s.peek()
	start := s.i
	if _, ok := s.str(); !ok {
		return false
	}
	return p.UnmarshalJSON(s.b[start:s.i]) == nil
}

// The string fields of a subscriber, in the order they are laid out in its one block.
const (
	sfID = iota
	sfAgreementID
	sfFirstName
	sfLastName
	sfEmail
	sfLevel
	sfReference
	sfCountry
	sfLanguage
	sfNotificationEmail
	sfStatus
	subscriberStrings
)

// subscriber decodes a Subscriber's fields, those of its json tags. Its strings are cut
// from one allocation rather than one each, since a subscriber's strings live and die
// together: a page of 100 then allocates about 200 times instead of 1,100.
func (s *jsonScan) subscriber(v *Subscriber) bool {
	var raw [subscriberStrings][]byte
	ok := s.object(func(k []byte) bool {
		var f int
		switch string(k) {
		case "id":
			f = sfID
		case "agreement_id":
			f = sfAgreementID
		case "first_name":
			f = sfFirstName
		case "last_name":
			f = sfLastName
		case "email":
			f = sfEmail
		case "level":
			f = sfLevel
		case "reference":
			f = sfReference
		case "country":
			f = sfCountry
		case "language":
			f = sfLanguage
		case "notification_email":
			f = sfNotificationEmail
		case "status":
			f = sfStatus
		case "downloads":
			return s.bool(&v.Downloads)
		case "assigned_at":
			return s.time(&v.AssignedAt)
		case "updated_at":
			return s.time(&v.UpdatedAt)
		default:
			return false // a field this decoder does not know: encoding/json decides
		}
		b, ok := s.str()
		raw[f] = b // a repeated field: the last one wins, as in encoding/json
		return ok
	})
	if !ok {
		return false
	}
	n := 0
	for _, r := range raw {
		n += len(r)
	}
	var block strings.Builder
	block.Grow(n)
	for _, r := range raw {
		block.Write(r)
	}
	rest := block.String()
	var str [subscriberStrings]string
	for i, r := range raw {
		str[i], rest = rest[:len(r)], rest[len(r):]
	}
	v.ID, v.AgreementID = str[sfID], str[sfAgreementID]
	v.FirstName, v.LastName, v.Email = str[sfFirstName], str[sfLastName], str[sfEmail]
	setString(&v.Level, str[sfLevel])
	v.Reference, v.Country, v.NotificationEmail = str[sfReference], str[sfCountry], str[sfNotificationEmail]
	setString(&v.Language, str[sfLanguage])
	setString(&v.Status, str[sfStatus])
	return true
}

// setString sets a string field whatever its string type.
func setString[T ~string](p *T, s string) { *p = T(s) }

// subscriberPage decodes a page of subscribers.
func (s *jsonScan) subscriberPage(p *wire.Page[Subscriber]) bool {
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "next_cursor":
			return scanString(s, &p.NextCursor)
		case "items":
			// A repeated "items" is left to encoding/json, which decodes it over the first
			// one's elements without zeroing them (the fuzz test found it).
			if p.Items != nil || !s.eat('[') {
				return false
			}
			// An empty array is an empty slice, not nil, as in encoding/json.
			// A subscriber takes some 330 bytes of JSON: room for all of them at once.
			p.Items = make([]Subscriber, 0, len(s.b)/256+1)
			if s.eat(']') {
				return true
			}
			for {
				p.Items = append(p.Items, Subscriber{})
				if !s.subscriber(&p.Items[len(p.Items)-1]) {
					return false
				}
				if !s.eat(',') {
					return s.eat(']')
				}
			}
		}
		return false
	})
}
