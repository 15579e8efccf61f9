package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// removedAndAsking returns a portal where the customer removed alice from the order's
// agreement and alice registered again: her registration is a pending access request.
func removedAndAsking() (p *portal.Portal, order *vssubs.Order, customer, alice *vssubs.Client, requestID string) {
	ctx := context.Background()
	p, order = exampleOrder()
	alice, _ = p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, exampleForm(order)); err != nil {
		log.Fatal(err)
	}
	customer, _ = p.Client("it-director@contoso.com")
	for pa, err := range customer.Access.ListPartners(ctx, order.AgreementID) {
		if err != nil {
			log.Fatal(err)
		}
		if err := customer.Access.RemovePartner(ctx, order.AgreementID, pa.PartnerID); err != nil {
			log.Fatal(err)
		}
	}
	_, err := alice.Partners.Register(ctx, exampleForm(order))
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || !errors.Is(err, vssubs.ErrAccessPending) {
		log.Fatal(err)
	}
	return p, order, customer, alice, ae.Details["request_id"]
}

// After a removal, registering again grants nothing: the customer lists the requests.
func ExampleAccessService_ListRequests() {
	_, order, customer, _, _ := removedAndAsking()
	for r, err := range customer.Access.ListRequests(context.Background(), order.AgreementID) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Email, r.Via, r.Status)
	}
	// Output: alice@fabrikam-partners.com olp_registration pending
}

// The customer approves: the requester manages the agreement again.
func ExampleAccessService_ApproveRequest() {
	ctx := context.Background()
	_, order, customer, alice, id := removedAndAsking()
	r, err := customer.Access.ApproveRequest(ctx, order.AgreementID, id)
	if err != nil {
		log.Fatal(err)
	}
	_, err = alice.Agreements.Get(ctx, order.AgreementID)
	fmt.Println(r.Status, err)
	// Output: approved <nil>
}

// The customer declines: registering again is refused for good.
func ExampleAccessService_DeclineRequest() {
	ctx := context.Background()
	_, order, customer, alice, id := removedAndAsking()
	if _, err := customer.Access.DeclineRequest(ctx, order.AgreementID, id); err != nil {
		log.Fatal(err)
	}
	_, err := alice.Partners.Register(ctx, exampleForm(order))
	fmt.Println(errors.Is(err, vssubs.ErrAccessRemoved))
	// Output: true
}

// The activity log shows who did what, and under which request id.
func ExampleAccessService_Activity() {
	_, order, customer, _, _ := removedAndAsking()
	for e, err := range customer.Access.Activity(context.Background(), order.AgreementID) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Actor, e.Action, e.Subject, strings.HasPrefix(e.RequestID, "req_"))
	}
	// Output:
	// alice@fabrikam-partners.com partner_granted alice@fabrikam-partners.com true
	// it-director@contoso.com partner_removed alice@fabrikam-partners.com true
	// alice@fabrikam-partners.com access_requested alice@fabrikam-partners.com true
}

// The log exports as CSV, with a header row.
func ExampleAccessService_ExportActivity() {
	_, order, customer, _, _ := removedAndAsking()
	var b strings.Builder
	if err := customer.Access.ExportActivity(context.Background(), order.AgreementID, &b); err != nil {
		log.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	fmt.Fprintln(os.Stdout, lines[0])
	fmt.Println(len(lines)-1, "entries")
	// Output:
	// at,actor,action,subject,request_id,details
	// 3 entries
}
