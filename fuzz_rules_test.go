package vssubs_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/webhook"
)

// The rules fuzzing led to (see the README's Fuzzing section), stated case by case.
func TestOrderRulesFoundByFuzzing(t *testing.T) {
	base := vssubs.OrderRequest{
		CustomerEmail: "it@contoso.com",
		CustomerName:  "Contoso",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}},
	}
	for _, tc := range []struct {
		name       string
		edit       func(*vssubs.OrderRequest)
		wantFields []vssubs.FieldError
		wantOrder  func(*vssubs.OrderRequest)
	}{
		{name: "a blank Primary Contact means the caller, as an absent one does",
			edit:      func(o *vssubs.OrderRequest) { o.PrimaryContactEmail = "  \t" },
			wantOrder: func(o *vssubs.OrderRequest) { o.PrimaryContactEmail = "" }},
		{name: "a Primary Contact is normalized like every email",
			edit:      func(o *vssubs.OrderRequest) { o.PrimaryContactEmail = " Bob@Northwind-IT.com " },
			wantOrder: func(o *vssubs.OrderRequest) { o.PrimaryContactEmail = "bob@northwind-it.com" }},
		{name: "the name's limit counts characters, not bytes",
			edit:      func(o *vssubs.OrderRequest) { o.CustomerName = strings.Repeat("é", 200) },
			wantOrder: func(o *vssubs.OrderRequest) { o.CustomerName = strings.Repeat("é", 200) }},
		{name: "a name over 200 characters is refused",
			edit:       func(o *vssubs.OrderRequest) { o.CustomerName = strings.Repeat("é", 201) },
			wantFields: []vssubs.FieldError{{Field: vssubs.FieldCustomerName, Reason: "must be at most 200 characters"}}},
		{name: "a name JSON would rewrite is refused rather than stored differently",
			edit:       func(o *vssubs.OrderRequest) { o.CustomerName = "Con\xfftoso" },
			wantFields: []vssubs.FieldError{{Field: vssubs.FieldCustomerName, Reason: "must be valid UTF-8 text"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			tc.edit(&in)
			got, err := vssubs.DefaultRules().NormalizeOrder(in)
			var ve *vssubs.ValidationError
			errors.As(err, &ve)
			var gotFields []vssubs.FieldError
			if ve != nil {
				gotFields = ve.Fields
			}
			if diff := cmp.Diff(tc.wantFields, gotFields); diff != "" {
				t.Fatalf("field errors (-want +got):\n%s", diff)
			}
			if tc.wantOrder != nil {
				want := base
				tc.wantOrder(&want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("normalized order (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSubscriberTextRulesFoundByFuzzing(t *testing.T) {
	ada := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}
	for _, tc := range []struct {
		name       string
		edit       func(*vssubs.SubscriberInput)
		wantFields []vssubs.FieldError
	}{
		{name: "a name JSON would rewrite is refused rather than stored differently",
			edit:       func(in *vssubs.SubscriberInput) { in.LastName = "Love\xe2lace" },
			wantFields: []vssubs.FieldError{{Field: vssubs.FieldLastName, Reason: "must be valid UTF-8 text"}}},
		{name: "the limit counts characters, not bytes",
			edit: func(in *vssubs.SubscriberInput) { in.Reference = strings.Repeat("é", 100) }},
		{name: "a reference over 100 characters is refused",
			edit:       func(in *vssubs.SubscriberInput) { in.Reference = strings.Repeat("é", 101) },
			wantFields: []vssubs.FieldError{{Field: vssubs.FieldReference, Reason: "must be at most 100 characters"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ada
			tc.edit(&in)
			_, err := vssubs.DefaultRules().NormalizeSubscriber(in)
			var ve *vssubs.ValidationError
			var got []vssubs.FieldError
			if errors.As(err, &ve) {
				got = ve.Fields
			}
			if diff := cmp.Diff(tc.wantFields, got); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyWebhookRefusesATimestampCenturiesAhead(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	secret := []byte(strings.Repeat("s", webhook.MinSecretLen))
	body := []byte(`{"id":"ntf_000001","kind":"partner_added"}`)
	for _, ahead := range []time.Duration{6 * time.Minute, 200 * 365 * 24 * time.Hour} {
		signedAt := now.Add(ahead)
		// Far enough ahead, Sub saturates; Unix seconds are used as the sender sends them.
		unix := signedAt.Unix()
		if ahead > time.Hour {
			unix = 9_000_000_000_000_000_000
			signedAt = time.Unix(unix, 0)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://receiver.example/hook", bytes.NewReader(body))
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(unix, 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, signedAt, body))
		_, err := webhook.Verify(req, webhook.Secret{Current: secret}, 5*time.Minute,
			webhook.NewMemoryReplayCache(func() time.Time { return now }), webhook.WithVerifyClock(func() time.Time { return now }))
		if !errors.Is(err, webhook.ErrTimestamp) {
			t.Errorf("signed at Unix %d, %v ahead: got %v, want ErrWebhookTimestamp", unix, ahead, err)
		}
	}
}
