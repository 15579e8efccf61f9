package vssubs

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// portalSubscribers are answers as the portal encodes them (encoding/json), with every
// optional field both set and empty, and names outside ASCII.
func portalSubscribers() []Subscriber {
	at := time.Date(2026, 11, 23, 9, 30, 0, 123456789, time.UTC)
	paris := time.Date(2026, 11, 23, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	return []Subscriber{
		{ID: "sub_000001", AgreementID: "agr_000001", SubscriberInput: SubscriberInput{
			FirstName: "Camille", LastName: "Durand", Email: "camille.durand@contoso.com", Level: LevelEnterprise,
			Reference: "CC-4471", Country: "FR", Language: LangFrench, Downloads: true, NotificationEmail: "c.durand@contoso.fr",
		}, Status: StatusAssigned, AssignedAt: at, UpdatedAt: paris},
		{ID: "sub_000002", AgreementID: "agr_000001", SubscriberInput: SubscriberInput{
			FirstName: "Zoë", LastName: "Ångström-Łukasz 李", Email: "zoe@contoso.com", Level: LevelProfessional, Country: "SE",
		}, Status: StatusAssigned},
	}
}

func encodeJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fast decoders take what the portal sends, and decode it as encoding/json does: if
// they fell back on every answer, the client would silently lose its speed.
func TestFastDecodersAcceptWhatThePortalSends(t *testing.T) {
	subs := portalSubscribers()
	indented, err := json.MarshalIndent(wire.Page[Subscriber]{Items: subs, NextCursor: "c2"}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body []byte
		page bool
	}{
		{"a subscriber with every field set", encodeJSON(t, subs[0]), false},
		{"a subscriber without its optional fields, named outside ASCII", encodeJSON(t, subs[1]), false},
		{"a page with a next cursor", encodeJSON(t, wire.Page[Subscriber]{Items: subs, NextCursor: "c2"}), true},
		{"the last page, without a cursor", encodeJSON(t, wire.Page[Subscriber]{Items: subs}), true},
		{"an empty page", []byte(`{"items":[]}`), true},
		{"a page with whitespace everywhere, and the newline the portal's Encoder ends with", append(indented, '\n'), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := jsonScan{b: tt.body}
			var got, want any
			var ok bool
			if tt.page {
				var p, q wire.Page[Subscriber]
				ok = s.subscriberPage(&p) && s.end()
				must(t, json.Unmarshal(tt.body, &q))
				got, want = p, q
			} else {
				var p, q Subscriber
				ok = s.subscriber(&p) && s.end()
				must(t, json.Unmarshal(tt.body, &q))
				got, want = p, q
			}
			if !ok {
				t.Fatalf("the fast decoder refused %s", tt.body)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fast decoding differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// The buffer an answer was read into is reused for the next one: what the first answer
// decoded to must not change.
func TestAReusedBodyBufferLeavesEarlierAnswersIntact(t *testing.T) {
	var bodies sync.Pool
	first := encodeJSON(t, wire.Page[Subscriber]{Items: portalSubscribers(), NextCursor: "c2"})
	var got wire.Page[Subscriber]
	must(t, decodeJSON(&bodies, bytes.NewReader(first), int64(len(first)), &got))
	want := wire.Page[Subscriber]{Items: portalSubscribers(), NextCursor: "c2"}
	overwrite := bytes.Repeat([]byte{'x'}, len(first))
	copy(overwrite, `{"items":[],"next_cursor":"`)
	overwrite[len(overwrite)-2], overwrite[len(overwrite)-1] = '"', '}'
	for range 3 {
		var next wire.Page[Subscriber]
		must(t, decodeJSON(&bodies, bytes.NewReader(overwrite), int64(len(overwrite)), &next))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the first page changed (-want +got):\n%s", diff)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Whatever the fast decoders do not handle themselves still decodes, exactly as
// encoding/json decodes it.
func TestFastDecodersLeaveTheRestToEncodingJSON(t *testing.T) {
	sub := string(encodeJSON(t, portalSubscribers()[0]))
	tests := []struct {
		name string
		body string
	}{
		{"a field added by a newer portal", strings.Replace(sub, `{`, `{"seat":{"id":7,"tags":["a"]},`, 1)},
		{"a name with an escaped character", strings.Replace(sub, `"Durand"`, `"Durand \u0026 Fils \"DF\""`, 1)},
		{"a null, which leaves the field as it was", strings.Replace(sub, `"CC-4471"`, `null`, 1)},
		{"a key in another case, which encoding/json matches anyway", strings.Replace(sub, `"email"`, `"EMAIL"`, 1)},
		{"invalid UTF-8, which becomes U+FFFD", strings.Replace(sub, `Camille`, "Cam\xffille", 1)},
		{"data after the answer, which the client ignores", sub + `{"x":1}`},
		{"a repeated field, the last one wins", strings.Replace(sub, `{`, `{"id":"first",`, 1)},
		{"a timestamp time.Time refuses", strings.Replace(sub, `"2026-11-23T09:30:00Z"`, `"yesterday"`, 1)},
		{"downloads as a string", strings.Replace(sub, `"downloads":true`, `"downloads":"yes"`, 1)},
		{"a truncated answer", sub[:len(sub)/2]},
		{"not an object", `["sub_000001"]`},
		{"nothing at all", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got, want Subscriber
			gotErr := decodeJSON(new(sync.Pool), strings.NewReader(tt.body), int64(len(tt.body)), &got)
			wantErr := json.NewDecoder(strings.NewReader(tt.body)).Decode(&want)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("decodeJSON error %v, encoding/json error %v", gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decodeJSON differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzFastDecodeMatchesEncodingJSON holds the fast decoders to encoding/json: on any
// input, decodeJSON succeeds when encoding/json does, with the same value.
func FuzzFastDecodeMatchesEncodingJSON(f *testing.F) {
	subs := portalSubscribers()
	f.Add(encodeJSON(f, subs[0]))
	f.Add(encodeJSON(f, subs[1]))
	f.Add(encodeJSON(f, wire.Page[Subscriber]{Items: subs, NextCursor: "c2"}))
	f.Add([]byte(`{"items":[],"next_cursor":""}`))
	f.Add([]byte(`{"items":null}`))
	f.Add([]byte(`{"items":[{"downloads":false,"downloads":true}],"items":[{"id":"x"}]}`))
	f.Add([]byte(`{"id":"a\u00e9","Status":"assigned","assigned_at":"2026-01-02T03:04:05+01:00"}`))
	f.Add([]byte("{\"first_name\":\"\xc3\x28\"}"))
	f.Add([]byte(`{"downloads":truex}`))
	f.Add([]byte(` {"id" : "a" , "level":"enterprise"} `))
	var bodies sync.Pool // shared, as a client's is
	f.Fuzz(func(t *testing.T, data []byte) {
		var gotSub, wantSub Subscriber
		gotErr := decodeJSON(&bodies, bytes.NewReader(data), -1, &gotSub)
		wantErr := decodeStd(data, &wantSub)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("subscriber %q: decodeJSON error %v, encoding/json error %v", data, gotErr, wantErr)
		}
		if diff := cmp.Diff(wantSub, gotSub); diff != "" {
			t.Fatalf("subscriber %q (-encoding/json +decodeJSON):\n%s", data, diff)
		}
		var gotPage, wantPage wire.Page[Subscriber]
		gotErr = decodeJSON(&bodies, bytes.NewReader(data), int64(len(data)), &gotPage)
		wantErr = decodeStd(data, &wantPage)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("page %q: decodeJSON error %v, encoding/json error %v", data, gotErr, wantErr)
		}
		if diff := cmp.Diff(wantPage, gotPage); diff != "" {
			t.Fatalf("page %q (-encoding/json +decodeJSON):\n%s", data, diff)
		}
	})
}
