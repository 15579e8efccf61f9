package main

import (
	"context"
	"strings"
	"testing"
)

func TestTheOnboardingStoryHolds(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	transcript := out.String()
	for _, want := range []string{
		"✉ order_invitation to it-director@contoso.com",
		"refused as expected (vssubs: not a recognized user)",
		"refused as expected (vssubs: terms not accepted)",
		"✉ partner_added to it-director@contoso.com",
		"refused as expected (vssubs: not the primary contact)",
		"b***@northwind-it.com",
		"✉ partner_removed to bob@northwind-it.com",
		"refused as expected (vssubs: access removed)",
		"every rule held",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
}
