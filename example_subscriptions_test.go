package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// exampleAgreement places an order of 3 Enterprise and 2 Professional subscriptions on
// an embedded portal and registers the partner, as the onboarding example shows.
func exampleAgreement() (p *portal.Portal, partner, customer *vssubs.Client, agreementID string) {
	ctx := context.Background()
	p, err := portal.New()
	if err != nil {
		log.Fatal(err)
	}
	partner, _ = p.Client(partnerEmail)
	customer, _ = p.Client(customerEmail)
	order, err := partner.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customerEmail, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 3}, {Level: vssubs.LevelProfessional, Quantity: 2}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := partner.Partners.Register(ctx, vssubs.OpenLicenseForm{
		AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber,
		CustomerEmail: customerEmail, AcceptTerms: true,
	}); err != nil {
		log.Fatal(err)
	}
	return p, partner, customer, order.AgreementID
}

func ExampleSubscribersService_Add() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()

	sub, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example",
		Level: vssubs.LevelEnterprise, Country: "GB", Language: "en", Downloads: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(sub.ID, "sub_"), sub.Email, sub.Level, sub.Status)

	// The same email twice is refused.
	_, err = partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Byron", Email: "ADA@contoso.example", Level: vssubs.LevelProfessional, Country: "GB",
	})
	fmt.Println(errors.Is(err, vssubs.ErrConflict))
	// Output:
	// true ada@contoso.example enterprise assigned
	// true
}

func ExampleCapacity() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	for _, name := range []string{"ada", "grace", "alan"} {
		_, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
			FirstName: name, LastName: "Example", Email: name + "@contoso.example",
			Level: vssubs.LevelProfessional, Country: "US",
		})
		if c, ok := vssubs.Capacity(err); ok {
			fmt.Printf("%s refused: %s has %d purchased, %d assigned\n", name, c.Level, c.Purchased, c.Assigned)
		}
	}
	// Output:
	// alan refused: professional has 2 purchased, 2 assigned
}

func ExampleSubscribersService_List() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	for _, in := range []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB", Reference: "R&D"},
		{FirstName: "Grace", LastName: "Hopper", Email: "grace@contoso.example", Level: vssubs.LevelProfessional, Country: "US"},
		{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB", Reference: "R&D"},
	} {
		if _, err := partner.Subscribers.Add(ctx, agreementID, in); err != nil {
			log.Fatal(err)
		}
	}
	// Pages are fetched as the loop goes: memory holds one page, whatever the size.
	for sub, err := range partner.Subscribers.List(ctx, agreementID, vssubs.SubscriberFilter{Search: "r&d", Level: vssubs.LevelEnterprise}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(sub.FirstName, sub.LastName)
	}
	// Output:
	// Ada Lovelace
	// Alan Turing
}

func ExampleSubscribersService_BulkAdd() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	file := "First name,Last name,Email,Subscription level,Country/region,Downloads\n" +
		"Ada,Lovelace,ada@contoso.example,Enterprise,GB,Yes\n" +
		"Grace,Hopper,grace@contoso.example,Professional,US,No\n" +
		"Alan, Turing,alan@contoso.example,Enterprise,GB,Yes\n"
	rows, err := spreadsheet.ReadBulk(strings.NewReader(file), spreadsheet.CSV)
	if err != nil {
		log.Fatal(err)
	}
	_, err = partner.Subscribers.BulkAdd(ctx, agreementID, vssubs.BulkAddRequest{Rows: rows})
	var be *vssubs.BulkError
	if errors.As(err, &be) {
		for _, r := range be.Rows {
			fmt.Printf("row %d: %s %s\n", r.Row, r.Field, r.Reason)
		}
	}

	rows[2].LastName = "Turing"
	res, err := partner.Subscribers.BulkAdd(ctx, agreementID, vssubs.BulkAddRequest{
		Rows:     rows,
		Progress: func(done, total int) { fmt.Printf("%d/%d\n", done, total) },
	}, vssubs.WithIdempotencyKey("contoso-2026-01-import"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("added", res.Added)
	// Output:
	// row 4: last_name must not start or end with spaces
	// 0/3
	// 3/3
	// added 3
}

func ExampleSubscribersService_Overview() {
	ctx := context.Background()
	_, partner, customer, agreementID := exampleAgreement()
	if _, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB",
	}); err != nil {
		log.Fatal(err)
	}
	o, err := customer.Subscribers.Overview(ctx, agreementID)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range o.Levels {
		fmt.Printf("%-12s purchased %d, assigned %d, available %d, 12-month peak %d\n", l.Level, l.Purchased, l.Assigned, l.Available, l.Peak)
	}
	// Output:
	// enterprise   purchased 3, assigned 1, available 2, 12-month peak 1
	// professional purchased 2, assigned 0, available 2, 12-month peak 0
}

func ExampleAdminsService_Add() {
	ctx := context.Background()
	p, _, customer, agreementID := exampleAgreement()
	// Only a super admin, such as the order's customer, adds admins.
	admin, err := customer.Admins.Add(ctx, agreementID, vssubs.AdminInput{Email: "grace@contoso.example", Name: "Grace Hopper"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(admin.Email, admin.Role)
	_ = p.Flush(ctx)
	for _, n := range p.Recorder().Find(vssubs.KindAdminInvitation, admin.Email) {
		fmt.Println(n.Kind, n.Subject[:len("You are now an admin")])
	}
	// The customer is the only super admin: an agreement keeps its last two.
	err = customer.Admins.Remove(ctx, agreementID, customerEmail)
	fmt.Println(errors.Is(err, vssubs.ErrLastSuperAdmin))
	// Output:
	// grace@contoso.example admin
	// admin_invitation You are now an admin
	// true
}

func ExampleSubscribersService_Export() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	if _, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB",
	}); err != nil {
		log.Fatal(err)
	}
	var csv strings.Builder
	rows, err := partner.Subscribers.Export(ctx, agreementID, &csv, vssubs.ExportOptions{OmitBOM: true})
	if err != nil {
		log.Fatal(err)
	}
	// Save it under its conventional name, from the license number the caller knows.
	name := vssubs.ExportFileName("L0123456789", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	fmt.Println(name, rows)
	fmt.Print(strings.SplitAfter(csv.String(), "\n")[0])
	// Output:
	// subscribers_L0123456789_2026-11-23.csv 1
	// First name,Last name,Email,Subscription level,Reference,Country/region,Language,Downloads,Notification email,Status,Assigned at,ID
}

// A screen shows one page at a time and keeps the cursor for its Next link.
func ExampleSubscribersService_ListPage() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	for _, name := range []string{"ada", "alan", "grace"} {
		if _, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
			FirstName: name, LastName: "Example", Email: name + "@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB",
		}); err != nil {
			log.Fatal(err)
		}
	}
	page, next, err := partner.Subscribers.ListPage(ctx, agreementID, vssubs.SubscriberFilter{PageSize: 2}, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(page), page[0].Email, next != "")
	page, next, _ = partner.Subscribers.ListPage(ctx, agreementID, vssubs.SubscriberFilter{PageSize: 2}, next)
	fmt.Println(len(page), page[0].Email, next == "")
	// Output:
	// 2 ada@contoso.example true
	// 1 grace@contoso.example true
}

func ExampleSubscribersService_Migrate() {
	ctx := context.Background()
	_, partner, customer, oldAgreement := exampleAgreement()
	// The customer renews on a new Open License: a second order, same customer.
	renewal, err := partner.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customerEmail, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 3}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB"},
		{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB"},
	} {
		if _, err := customer.Subscribers.Add(ctx, oldAgreement, in); err != nil {
			log.Fatal(err)
		}
	}
	// Calling it again with the same key resumes a migration that stopped half way.
	res, err := customer.Subscribers.Migrate(ctx, oldAgreement, renewal.AgreementID, vssubs.MigrateOptions{},
		vssubs.WithIdempotencyKey("contoso-renewal-2027"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Copy), "copied,", len(res.Remove), "removed from the old agreement")
	// Output:
	// 2 copied, 2 removed from the old agreement
}
