package webui_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/webui"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

const (
	patEmail = "pat@fabrikam-partners.com" // the partner
	leeEmail = "lee@fabrikam-partners.com" // a colleague, Primary Contact of the third license
	annEmail = "ann@contoso.com"           // the customer
)

// TestBrowserStory walks the workflow document's story in a real Chromium, by clicking
// and typing: sign-in, the not-recognized notice, the OLP Partners registration, Manage
// subscribers, "+ Add agreement → New open license", the licensing centre, the
// customer's removal of the partner, and the removed partner's refusal. Then it checks
// what the API sees. Every screen passes axe-core.
func TestBrowserStory(t *testing.T) {
	s := newSite(t, webui.WithPageSize(3))
	b := newBrowser(t, s)
	ctx := context.Background()

	// The partner placed three orders; placing them gave it no access.
	orders := s.client(t, patEmail).Orders
	place := func(customer, name, contact string, lines ...vssubs.OrderLine) *vssubs.Order {
		o, err := orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customer, CustomerName: name, PrimaryContactEmail: contact, Lines: lines})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o1 := place(annEmail, "Contoso Ltd", "", vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 5}, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 3})
	o2 := place(annEmail, "Contoso Ltd", "", vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 2})
	o3 := place("it@northwind.com", "Northwind Traders", leeEmail, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 4})

	pat := b.user("partner", patEmail)

	// Sign-in, then the notice that the partner is not a recognized user.
	pat.open("/")
	if got := pat.path(); !strings.HasPrefix(got, "/signin") {
		t.Fatalf("a stranger at / lands on %s, want the sign-in page", got)
	}
	pat.step("sign-in")
	pat.fill(map[string]string{"#email": patEmail})
	pat.click("#signin")
	pat.see("h1", "You are not a recognized user.")
	pat.step("not-recognized")

	// The OLP Partners registration: errors beside their fields, then success.
	pat.click("#olp-registration")
	pat.click("#submit")
	for _, f := range []string{"authorization_number", "license_number", "customer_email", "accept_terms"} {
		if pat.count("#"+f+"-error") != 1 {
			t.Errorf("an empty registration shows no error beside %s", f)
		}
	}
	pat.fill(map[string]string{"#authorization_number": o1.AuthorizationNumber, "#license_number": "WRONG123", "#customer_email": annEmail})
	pat.tick("#accept_terms")
	pat.click("#submit")
	pat.see(".alert", "No Open License order matches")
	pat.step("registration-refused")
	pat.fill(map[string]string{"#license_number": o1.LicenseNumber})
	pat.tick("#accept_terms")
	pat.click("#submit")
	pat.see(".notice", "Registration complete")
	pat.see("#overview", "Visual Studio Enterprise")
	pat.step("overview")
	a1 := pat.path()[len("/agreements/"):strings.Index(pat.path(), "?")]

	// Manage subscribers: add (an error first), edit.
	pat.click("#nav-subscribers")
	pat.click("#add-subscriber")
	pat.fill(map[string]string{"#first_name": "Ada", "#last_name": "Lovelace", "#email": "ada@contoso.com", "#country": "France"})
	pat.click("#save")
	if pat.count("#country-error") != 1 {
		t.Fatal("a bad country shows no error beside the field")
	}
	pat.step("subscriber-errors")
	pat.fill(map[string]string{"#country": "GB"})
	pat.click("#save")
	pat.see(".notice", "The subscriber was added")
	pat.click(`#subscribers a[href$="/edit"]`)
	pat.fill(map[string]string{"#reference": "R-and-D"})
	pat.click("#save")
	pat.see("#subscribers", "R-and-D")

	// Bulk add: a file with bad rows adds nothing and shows each row's problem.
	dir := t.TempDir()
	writeBulk := func(name string, rows ...vssubs.SubscriberInput) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := spreadsheet.WriteBulk(f, formatOf(t, name), rows); err != nil {
			t.Fatal(err)
		}
		return p
	}
	row := func(first, last, email string, l vssubs.Level) vssubs.SubscriberInput {
		return vssubs.SubscriberInput{FirstName: first, LastName: last, Email: email, Level: l, Country: "FR", Downloads: true}
	}
	bad := writeBulk("bad.xlsx", row("Alan", "Turing", "alan@contoso.com", vssubs.LevelEnterprise), row("Grace", "Hopper", "grace@@contoso.com", vssubs.LevelEnterprise), row("Edsger", "Dijkstra", "alan@contoso.com", vssubs.LevelEnterprise))
	good := writeBulk("good.csv", row("Alan", "Turing", "alan@contoso.com", vssubs.LevelEnterprise), row("Grace", "Hopper", "grace@contoso.com", vssubs.LevelProfessional), row("Edsger", "Dijkstra", "edsger@contoso.com", vssubs.LevelEnterprise))
	pat.click("#bulk-add")
	pat.do("choosing the bad file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}))
	pat.click("#upload")
	rows, _ := chromedp.Run(pat.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#bulk-errors tbody tr td:first-child")].map(td => td.textContent)`))
	if diff := cmp.Diff([]string{"3", "4"}, rows); diff != "" {
		t.Errorf("the refused bulk add's rows with problems (-want +got):\n%s", diff)
	}
	pat.step("bulk-errors")
	if got := len(subscribers(t, s, patEmail, a1)); got != 1 {
		t.Fatalf("after a refused bulk add the agreement has %d subscribers, want 1: nothing added", got)
	}
	pat.do("choosing the good file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{good}))
	pat.click("#upload")
	pat.see(".notice", "Subscribers added: 3.")

	// The grid pages through the portal's cursor, searches and filters.
	if n := pat.count("#subscribers tbody tr"); n != 3 {
		t.Errorf("the first page shows %d rows, want the page size, 3", n)
	}
	pat.step("subscribers")
	pat.click("#next-page")
	if n := pat.count("#subscribers tbody tr"); n != 1 {
		t.Errorf("the second page shows %d rows, want 1", n)
	}
	pat.click("#prev-page")
	pat.see("#subscribers", "Lovelace")
	pat.fill(map[string]string{"#q": "hopper"})
	pat.click("#search")
	if n := pat.count("#subscribers tbody tr"); n != 1 {
		t.Errorf("searching hopper shows %d rows, want 1", n)
	}
	pat.fill(map[string]string{"#q": ""})
	pat.do("level filter", chromedp.SetValue(chromedp.CSS("#level"), string(vssubs.LevelProfessional)))
	pat.click("#search")
	pat.see("#subscribers", "Hopper")
	if n := pat.count("#subscribers tbody tr"); n != 1 {
		t.Errorf("the Professional filter shows %d rows, want 1", n)
	}

	// Export (with the filter) and the template download.
	exp, _ := chromedp.Run(pat.ctx, chromedp.Evaluate[string](`document.querySelector("#export").getAttribute("href")`))
	status, disp, body := pat.fetch(exp)
	if status != 200 || !strings.Contains(disp, "subscribers_"+o1.LicenseNumber+"_") || strings.Count(strings.TrimSpace(body), "\n") != 1 || !strings.Contains(body, "grace@contoso.com") {
		t.Errorf("export = %d %q:\n%s\nwant the filtered subscriber under the conventional file name", status, disp, body)
	}
	status, disp, _ = pat.fetch("/agreements/" + a1 + "/subscribers/template.xlsx")
	if status != 200 || !strings.Contains(disp, "subscribers_template.xlsx") {
		t.Errorf("template = %d %q", status, disp)
	}

	// Remove two subscribers with multi-select, after a confirmation.
	pat.open("/agreements/" + a1 + "/subscribers")
	pat.do("ticking two rows", chromedp.Click(chromedp.CSS(`#subscribers tbody tr:nth-child(2) input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS(`#subscribers tbody tr:nth-child(3) input[type=checkbox]`)))
	pat.click("#remove-selected")
	pat.see("h1", "Remove these subscribers?")
	pat.step("remove-subscribers")
	pat.click("#confirm-remove")
	pat.see(".notice", "Subscribers removed: 2.")

	// "+ Add agreement → New open license": the pop-out panel holds the same form.
	pat.do("opening + Add agreement", chromedp.Click(chromedp.CSS("#add-agreement")))
	pat.click("#new-open-license")
	pat.fill(map[string]string{"#panel-authorization_number": o2.AuthorizationNumber, "#panel-license_number": o2.LicenseNumber, "#panel-customer_email": annEmail})
	pat.click("#panel-submit")
	if pat.count("#panel-accept_terms-error") != 1 {
		t.Error("the panel shows no error beside the unticked box")
	}
	pat.step("add-agreement-panel")
	pat.tick("#panel-accept_terms")
	pat.click("#panel-submit")
	pat.see(".notice", "The Open License was added to your agreements")
	if n := pat.count("#agreement option"); n != 2 {
		t.Errorf("the agreement dropdown lists %d agreements, want 2", n)
	}
	pat.do("choosing the first agreement", chromedp.SetValue(chromedp.CSS("#agreement"), a1))
	pat.click("#agreement-go")
	if !strings.HasPrefix(pat.path(), "/agreements/"+a1) {
		t.Errorf("the dropdown's Go leads to %s, want agreement %s", pat.path(), a1)
	}
	pat.follow("#nav-admins")
	pat.see("#admins", annEmail)

	// The licensing centre: add the Open License, Relationship Summary, License Details,
	// "click here", and the claim refused to anyone but the Primary Contact.
	pat.click(`.session a[href="/vlsc"]`)
	pat.fill(map[string]string{"#authorization_number": o3.AuthorizationNumber, "#license_number": o3.LicenseNumber})
	pat.click("#add-open-license")
	pat.see(".notice", "added to your Relationship Summary")
	pat.see("#relationships", "Northwind Traders")
	pat.step("relationship-summary")
	pat.click("#relationships a")
	pat.see("h2", "Visual Studio Subscriptions")
	pat.step("license-details")
	link, _ := chromedp.Run(pat.ctx, chromedp.Evaluate[string](`document.querySelector("#click-here").getAttribute("href")`))
	pat.click("#click-here")
	pat.step("manage-subscriptions")
	pat.click("#claim")
	pat.see(".alert", vssubs.MaskEmail(leeEmail))
	pat.step("not-primary-contact")

	// The customer follows the partner_added notification's link to its partners page.
	ann := b.user("customer", annEmail)
	link1 := partnersLink(t, s, a1)
	if want := s.URL + webui.PartnersPath(a1); link1 != want {
		t.Fatalf("partner_added links to %q, want %q", link1, want)
	}
	ann.open(strings.TrimPrefix(link1, s.URL))
	ann.fill(map[string]string{"#email": annEmail})
	ann.click("#signin")
	if got := ann.path(); got != webui.PartnersPath(a1) {
		t.Fatalf("after signing in the customer is at %s, want the partners page %s", got, webui.PartnersPath(a1))
	}
	ann.see("#partners", patEmail)
	ann.step("partners")
	ann.click(`.session button[name=lang]`)
	ann.see("h1", "Partenaires")
	ann.see("#partners", "Supprimer")
	ann.step("partners-fr")
	ann.click(`.session button[name=lang]`)
	ann.see("h1", "Partners")

	ann.click("#nav-admins")
	ann.fill(map[string]string{"#name": "IT Operations", "#email": "it-ops@contoso.com"})
	ann.click("#add-admin")
	ann.see(".notice", "The admin was added")
	ann.step("admins")

	ann.click("#nav-partners")
	ann.click("#partners a.danger")
	ann.see("main", "will no longer be able to manage")
	ann.step("remove-partner")
	ann.click("#confirm-remove")
	ann.see(".notice", "The partner's access was removed")
	ann.see("#partners", "No partner has access")

	// The removed partner is refused, on the agreement and when registering again.
	if st := pat.open("/agreements/" + a1); st != 403 {
		t.Errorf("the removed partner's agreement page answers %d, want 403", st)
	}
	pat.see("#error-message", "The customer removed your access")
	pat.step("access-removed")
	pat.open("/register")
	pat.fill(map[string]string{"#authorization_number": o1.AuthorizationNumber, "#license_number": o1.LicenseNumber, "#customer_email": annEmail})
	pat.tick("#accept_terms")
	if st := pat.click("#submit").Status; st != 403 {
		t.Errorf("registering again answers %d, want 403", st)
	}
	pat.see(".alert", "your registration granted nothing")

	// The Primary Contact follows the same link, signs in, and gains access.
	lee := b.user("primary contact", leeEmail)
	lee.open(link)
	lee.step("manage-signed-out")
	lee.click("#manage-signin")
	lee.fill(map[string]string{"#email": leeEmail})
	lee.click("#signin")
	lee.click("#claim")
	lee.see(".notice", "You can now manage the subscriptions")
	lee.step("claimed")

	// What the API sees.
	cust := s.client(t, annEmail)
	partners, err := vssubs.Collect(cust.Access.ListPartners(ctx, a1))
	if err != nil || len(partners) != 0 {
		t.Errorf("partners of agreement 1 = %+v, %v; want none", partners, err)
	}
	if _, err := s.client(t, patEmail).Agreements.Get(ctx, a1); !errors.Is(err, vssubs.ErrAccessRemoved) {
		t.Errorf("the removed partner's Get = %v, want ErrAccessRemoved", err)
	}
	var emails []string
	for _, sub := range subscribers(t, s, annEmail, a1) {
		emails = append(emails, sub.Email+" "+sub.Reference)
	}
	slices.Sort(emails)
	if diff := cmp.Diff([]string{"ada@contoso.com R-and-D", "edsger@contoso.com "}, emails); diff != "" {
		t.Errorf("subscribers the API sees (-want +got):\n%s", diff)
	}
	admins, err := vssubs.Collect(cust.Admins.List(ctx, a1))
	if err != nil || !slices.ContainsFunc(admins, func(a vssubs.Admin) bool { return a.Email == "it-ops@contoso.com" }) {
		t.Errorf("admins = %+v, %v; want it-ops@contoso.com among them", admins, err)
	}
	me, err := s.client(t, leeEmail).Partners.Me(ctx)
	if err != nil || len(me.Agreements) != 1 || me.Agreements[0].LicenseNumber != o3.LicenseNumber {
		t.Errorf("the Primary Contact's agreements = %+v, %v; want the third license", me, err)
	}
	if err := s.Portal.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Portal.Recorder().Find(vssubs.KindPartnerRemoved, patEmail); len(n) != 1 {
		t.Errorf("the removed partner got %d partner_removed, want 1", len(n))
	}

	// No URL the browser asked for carried a token, but the licensing centre's link.
	urls := b.requested()
	if len(urls) < 50 {
		t.Fatalf("only %d requests seen: the browser's requests are not being recorded", len(urls))
	}
	for _, u := range urls {
		for _, who := range []string{patEmail, leeEmail, annEmail} {
			if strings.Contains(u, s.Portal.Token(who)) {
				t.Errorf("the browser requested %s, which carries %s's token", u, who)
			}
		}
		if strings.Contains(u, "token=") && !strings.HasPrefix(u, s.URL+"/vlsc/manage?token=") && !strings.Contains(u, "next=%2Fvlsc%2Fmanage%3Ftoken%3D") {
			t.Errorf("the browser requested %s, a URL with a token that is not the licensing centre's link", u)
		}
	}
}

func subscribers(t *testing.T, s *site, as, agreementID string) []vssubs.Subscriber {
	t.Helper()
	subs, err := vssubs.Collect(s.client(t, as).Subscribers.List(context.Background(), agreementID, vssubs.SubscriberFilter{}))
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

// partnersLink is the link in the customer's partner_added notification for agreementID.
func partnersLink(t *testing.T, s *site, agreementID string) string {
	t.Helper()
	if err := s.Portal.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Portal.Recorder().Find(vssubs.KindPartnerAdded, annEmail) {
		if n.AgreementID == agreementID {
			if !strings.Contains(n.Text, n.Data["partners_url"]) {
				t.Errorf("partner_added's text does not show its link %q:\n%s", n.Data["partners_url"], n.Text)
			}
			return n.Data["partners_url"]
		}
	}
	t.Fatalf("no partner_added for %s", agreementID)
	return ""
}

func formatOf(t *testing.T, name string) spreadsheet.Format {
	t.Helper()
	f, err := spreadsheet.FormatOf(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
