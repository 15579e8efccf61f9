package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
)

// tree is the whole command tree, built per invocation so flag values never leak
// between runs.
func tree() *command {
	return &command{name: "vssubs", summary: "Manage Visual Studio subscriptions sold on Open Licenses, as a partner or a customer.", sub: []*command{
		meCmd(),
		{name: "order", summary: "place and read Open License orders on a customer's behalf", sub: []*command{orderPlaceCmd(), orderGetCmd()}},
		registerCmd(),
		{name: "agreements", summary: "list, read and add agreements you have a role on", sub: []*command{agreementsListCmd(), agreementsGetCmd(), agreementsAddCmd()}},
		{name: "vlsc", summary: "the licensing centre's add-open flow", sub: []*command{vlscAddOpenCmd(), vlscRelationshipsCmd(), vlscLinkCmd(), vlscClaimCmd()}},
		{name: "partners", summary: "partners with access to an agreement (customer)", sub: []*command{partnersListCmd(), partnersRemoveCmd()}},
		subscribersCmd(),
		adminsCmd(),
		overviewCmd(),
	}}
}

func meCmd() *command {
	return &command{name: "me", summary: "show who you are signed in as and your agreements",
		example: "vssubs me",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			me, err := c.Partners.Me(ctx)
			if err != nil {
				return err
			}
			if s.json {
				return writeJSON(s.stdout, me)
			}
			fmt.Fprintf(s.stdout, "%s (%s, %s)\n\n", me.Email, me.ID, me.Language)
			return emitList(s, sliceSeq(me.Agreements), []string{"AGREEMENT", "LICENSE", "CUSTOMER", "ROLE"},
				func(a vssubs.AgreementRole) []any {
					return []any{a.AgreementID, a.LicenseNumber, a.CustomerName, a.Role}
				})
		}}
}

// lineFlag collects repeated --line level=quantity flags.
type lineFlag struct{ lines *[]vssubs.OrderLine }

func (f lineFlag) String() string { return "" }

func (f lineFlag) Set(v string) error {
	level, qty, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(strings.TrimSpace(qty))
	if !ok || err != nil {
		return fmt.Errorf("want level=quantity, such as enterprise=10, got %q", v)
	}
	*f.lines = append(*f.lines, vssubs.OrderLine{Level: vssubs.Level(strings.TrimSpace(level)), Quantity: n})
	return nil
}

func orderPlaceCmd() *command {
	var req vssubs.OrderRequest
	return &command{name: "place", summary: "place an Open License order on a customer's behalf; the customer is invited",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&req.CustomerEmail, "customer-email", "", "the customer's business email (becomes super admin)")
			fs.StringVar(&req.CustomerName, "customer-name", "", "the customer company's name")
			fs.StringVar(&req.PrimaryContactEmail, "primary-contact", "", "the license's Primary Contact (default: you)")
			fs.StringVar((*string)(&req.CustomerLanguage), "customer-language", "", "the customer's language: en or fr")
			fs.Var(lineFlag{&req.Lines}, "line", "level=quantity, repeatable; levels: "+levelNames())
		},
		required: []string{"customer-email", "customer-name", "line"},
		example:  "vssubs order place --customer-email it@contoso.com --customer-name Contoso --line enterprise=10 --line professional=5",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			o, err := c.Orders.Place(ctx, req)
			if err != nil {
				return err
			}
			return emitOrder(s, o)
		}}
}

func orderGetCmd() *command {
	return &command{name: "get", args: "ORDER_ID", nargs: 1, summary: "show an order you placed",
		example: "vssubs order get ord_000001",
		run: func(ctx context.Context, s *session, args []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			o, err := c.Orders.Get(ctx, args[0])
			if err != nil {
				return err
			}
			return emitOrder(s, o)
		}}
}

func emitOrder(s *session, o *vssubs.Order) error {
	return s.emit(o,
		field{"ORDER", o.ID}, field{"AGREEMENT", o.AgreementID},
		field{"AUTHORIZATION", o.AuthorizationNumber}, field{"LICENSE", o.LicenseNumber},
		field{"CUSTOMER", o.CustomerName + " <" + o.CustomerEmail + ">"},
		field{"PRIMARY CONTACT", o.PrimaryContactEmail}, field{"LINES", linesText(o.Lines)},
		field{"PLACED", o.PlacedAt})
}

func linesText(lines []vssubs.OrderLine) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%s=%d", l.Level, l.Quantity)
	}
	return strings.Join(parts, ", ")
}

func levelNames() string {
	var names []string
	for _, l := range vssubs.Levels() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// formFlags registers the OLP Partners form, shared by register and agreements add.
func formFlags(form *vssubs.OpenLicenseForm) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&form.AuthorizationNumber, "authorization", "", "the Open License's authorization number")
		fs.StringVar(&form.LicenseNumber, "license", "", "the Open License's license number")
		fs.StringVar(&form.CustomerEmail, "customer-email", "", "the customer email used on the order")
		fs.BoolVar(&form.AcceptTerms, "accept-terms", false, "tick the acknowledgement box")
	}
}

func registerCmd() *command {
	return formCmd("register", "vssubs register", "register as an OLP partner on an Open License (the portal's form)", (*vssubs.PartnersService).Register)
}

func agreementsAddCmd() *command {
	return formCmd("add", "vssubs agreements add", "+ Add agreement → New open license, for a partner already registered", (*vssubs.PartnersService).AddAgreement)
}

// formCmd is a command that submits the OLP Partners form with submit; fullName is its
// full name, for the example.
func formCmd(name, fullName, summary string, submit func(*vssubs.PartnersService, context.Context, vssubs.OpenLicenseForm, ...vssubs.CallOption) (*vssubs.Agreement, error)) *command {
	var form vssubs.OpenLicenseForm
	return &command{name: name, summary: summary,
		flags:    formFlags(&form),
		required: []string{"authorization", "license", "customer-email"},
		example:  fullName + " --authorization A1234567 --license L0123456789 --customer-email it@contoso.com --accept-terms",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			a, err := submit(c.Partners, ctx, form)
			if err != nil {
				return err
			}
			return emitAgreement(s, a)
		}}
}

func agreementsListCmd() *command {
	return &command{name: "list", summary: "list the agreements you have a role on",
		example: "vssubs agreements list",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			return emitList(s, c.Agreements.List(ctx), []string{"AGREEMENT", "AUTHORIZATION", "LICENSE", "CUSTOMER", "ROLE", "LINES"},
				func(a vssubs.Agreement) []any {
					return []any{a.ID, a.AuthorizationNumber, a.LicenseNumber, a.CustomerName, a.Role, linesText(a.Lines)}
				})
		}}
}

func agreementsGetCmd() *command {
	return &command{name: "get", args: "AGREEMENT_ID", nargs: 1, summary: "show one agreement",
		example: "vssubs agreements get agr_000001",
		run: func(ctx context.Context, s *session, args []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			a, err := c.Agreements.Get(ctx, args[0])
			if err != nil {
				return err
			}
			return emitAgreement(s, a)
		}}
}

func emitAgreement(s *session, a *vssubs.Agreement) error {
	return s.emit(a,
		field{"AGREEMENT", a.ID}, field{"AUTHORIZATION", a.AuthorizationNumber}, field{"LICENSE", a.LicenseNumber},
		field{"CUSTOMER", a.CustomerName + " <" + a.CustomerEmail + ">"}, field{"ROLE", a.Role},
		field{"LINES", linesText(a.Lines)}, field{"CREATED", a.CreatedAt})
}

func vlscAddOpenCmd() *command {
	var req vssubs.AddOpenRequest
	return &command{name: "add-open", summary: "add an Open License to your licensing-centre profile",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&req.AuthorizationNumber, "authorization", "", "the Open License's authorization number")
			fs.StringVar(&req.LicenseNumber, "license", "", "the Open License's license number")
		},
		required: []string{"authorization", "license"},
		example:  "vssubs vlsc add-open --authorization A1234567 --license L0123456789",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			r, err := c.VLSC.AddOpenLicense(ctx, req)
			if err != nil {
				return err
			}
			return s.emit(r, field{"AUTHORIZATION", r.AuthorizationNumber}, field{"LICENSE", r.LicenseNumber},
				field{"CUSTOMER", r.CustomerName}, field{"ADDED", r.AddedAt})
		}}
}

func vlscRelationshipsCmd() *command {
	return &command{name: "relationships", summary: "list your Relationship Summary",
		example: "vssubs vlsc relationships",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			return emitList(s, c.VLSC.Relationships(ctx), []string{"AUTHORIZATION", "LICENSE", "CUSTOMER", "ADDED"},
				func(r vssubs.Relationship) []any {
					return []any{r.AuthorizationNumber, r.LicenseNumber, r.CustomerName, r.AddedAt}
				})
		}}
}

func vlscLinkCmd() *command {
	return &command{name: "link", args: "LICENSE_NUMBER", nargs: 1, summary: "print the manage-subscriptions link under License Details",
		example: "vssubs vlsc link L0123456789",
		run: func(ctx context.Context, s *session, args []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			l, err := c.VLSC.ManageSubscriptionsLink(ctx, args[0])
			if err != nil {
				return err
			}
			return s.done(l.URL, l)
		}}
}

func vlscClaimCmd() *command {
	return &command{name: "claim", args: "LINK", nargs: 1, summary: "follow the manage-subscriptions link, signed in as the Primary Contact",
		example: "vssubs vlsc claim \"$(vssubs vlsc link L0123456789)\"",
		run: func(ctx context.Context, s *session, args []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			a, err := c.Partners.ClaimFromVLSC(ctx, args[0])
			if err != nil {
				return err
			}
			return emitAgreement(s, a)
		}}
}

func partnersListCmd() *command {
	var agreement string
	return &command{name: "list", summary: "list the partners with access to the agreement",
		flags:   agreementFlag(&agreement),
		example: "vssubs partners list --agreement agr_000001",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			return emitList(s, c.Access.ListPartners(ctx, id), []string{"PARTNER", "EMAIL", "VIA", "GRANTED"},
				func(p vssubs.PartnerAccess) []any { return []any{p.PartnerID, p.Email, p.Via, p.GrantedAt} })
		}}
}

func partnersRemoveCmd() *command {
	var agreement string
	return &command{name: "remove", args: "PARTNER_ID", nargs: 1, summary: "remove a partner's access to the agreement; the partner is notified",
		flags:   agreementFlag(&agreement),
		example: "vssubs partners remove --agreement agr_000001 ptn_000002",
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			if err := c.Access.RemovePartner(ctx, id, args[0]); err != nil {
				return err
			}
			return s.done("removed partner "+args[0]+" from "+id, map[string]string{"agreement_id": id, "removed_partner_id": args[0]})
		}}
}

func agreementFlag(dst *string) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(dst, "agreement", "", "the agreement id (env "+EnvAgreement+")")
	}
}

// scoped returns the client and the agreement of an agreement-scoped command.
func (s *session) scoped(flagValue string) (*vssubs.Client, string, error) {
	id, err := s.agreement(flagValue)
	if err != nil {
		return nil, "", err
	}
	c, err := s.newClient()
	return c, id, err
}

func sliceSeq[T any](items []T) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		for _, v := range items {
			if !yield(v, nil) {
				return
			}
		}
	}
}
