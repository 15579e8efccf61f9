// Package vssubs is a client for the Visual Studio Subscriptions administration portal,
// as used by partners who sell Open License subscriptions and then manage them on their
// customers' behalf.
//
// Every call validates its input before anything is sent, returns typed results, and
// fails with errors you can test with [errors.Is]: a [*ValidationError] for bad input
// (every bad field listed), an [*APIError] for the portal's answers, each matching one of
// the Err… sentinels such as [ErrNotRecognized] or [ErrAccessRemoved].
//
// # Getting a client
//
// [NewClient] builds a client from options and makes no network call:
//
//	c, err := vssubs.NewClient(
//		vssubs.WithBaseURL("https://portal.example.com/"),
//		vssubs.WithCredential(vssubs.StaticToken(token)),
//	)
//
// The package portal is an embedded reference portal with the same rules; its
// Client(email) method returns a client signed in as anyone, over an in-process
// transport, so a program or a test runs the whole workflow with no network. The
// examples of this package run on it. The package vssubstest builds test kits on it.
//
// The client's services are fields: [Client.Orders], [Client.Partners], [Client.VLSC],
// [Client.Agreements], [Client.Access], [Client.Subscribers] and [Client.Admins].
//
// # The workflow
//
// A partner first places an Open License order on behalf of a customer, with the
// customer's business email ([OrdersService.Place]). The order carries the authorization
// number, reused for every order of the same customer, and a new license number. The
// customer becomes super admin of the agreement and receives a notification inviting it
// to assign admins and reach its subscriptions. Placing the order gives the partner no
// access: a partner with no role on any agreement is not a recognized user, and
// [PartnersService.Me] answers [ErrNotRecognized].
//
// To manage the subscriptions, the partner registers, by one of three paths:
//
//  1. Directly at the portal, through the OLP Partners registration form
//     ([PartnersService.Register]). The [OpenLicenseForm] holds the authorization
//     number, the license number and the customer email used on the order, and its
//     acknowledgement box must be ticked. All three must match one order: any mismatch is
//     [ErrNoMatchingLicense], whichever field was wrong, and repeated mismatches lock
//     the caller out for a while ([ErrLockedOut], with [RetryAfter] telling how long).
//  2. Through the Volume Licensing Service Center (the add-open flow). The partner adds
//     the Open License to its profile by its numbers ([VLSCService.AddOpenLicense]),
//     finds it in its Relationship Summary ([VLSCService.Relationships]), follows the
//     "manage subscriptions" link under License Details
//     ([VLSCService.ManageSubscriptionsLink]), and signs in to the portal with it
//     ([PartnersService.ClaimFromVLSC]). Only the email listed as the license's Primary
//     Contact gains access; any other gets [ErrNotPrimaryContact].
//  3. As an existing partner adding a new license, with "+ Add agreement → New open
//     license" ([PartnersService.AddAgreement]): the same form and rules as path 1, for
//     a partner that already has access to at least one agreement.
//
// Each time a partner gains access, the customer is notified that a partner was added to
// its Open License. The customer lists the partners with access
// ([AccessService.ListPartners]) and may remove one ([AccessService.RemovePartner]).
// From then on the partner's calls on that agreement fail with [ErrAccessRemoved], and
// registering again with the same numbers does not bring access back.
//
// The agreements a caller has a role on are listed by [AgreementsService.List]; an
// agreement the caller has no role on is [ErrNotFound], never [ErrForbidden], so ids
// cannot be probed.
//
// # Managing the subscriptions
//
// Once a partner has access, it manages the subscriptions the license holds, as the
// customer and its admins do. [SubscribersService.Add] assigns one subscription;
// [SubscribersService.BulkAdd] assigns many, all or none, each bad row reported with its
// reason, from rows read from the spreadsheet template or a CSV file with spreadsheet.ReadBulk.
// Subscribers are edited ([SubscribersService.Update]), removed
// ([SubscribersService.Remove]), listed with a filter ([SubscribersService.List]) and
// exported as CSV ([SubscribersService.Export]). The seats of a level never exceed
// what was purchased ([ErrCapacityExceeded]), and a seat goes to another person no
// sooner than 90 days after its last assignment ([ErrReassignTooSoon]).
// [SubscribersService.Overview] gives each level's purchased, assigned and available
// seats. A super admin adds and removes admins ([AdminsService.Add],
// [AdminsService.Remove]); the last two super admins stay ([ErrLastSuperAdmin]).
//
// # Lists, writes and errors
//
// Lists are iterators of (item, error) that fetch page after page as you range over
// them; [Collect] gathers one into a slice. Every write carries an idempotency key, so a
// retried write is never applied twice; [WithIdempotencyKey] supplies your own. Every
// result embeds [ResponseMeta], whose RequestID is the portal's id for the exchange, also
// found on every [*APIError].
//
// # Validation
//
// [Rules] holds the validation shared by the client's pre-flight checks and the portal's
// authoritative ones: the accepted shape of authorization and license numbers
// ([LicenseFormat]) and the consumer mail domains refused as a customer's business
// address. [OpenLicenseForm.Validate], [OrderRequest.Validate] and
// [AddOpenRequest.Validate] check input with the default rules.
package vssubs
