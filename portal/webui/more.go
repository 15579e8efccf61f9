package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// maxUpload bounds a bulk file: the template of MaxBulkRows rows fits well under it.
const maxUpload = 32 << 20

// bulkResult is what the bulk page shows after a refused upload: every bad row.
type bulkResult struct {
	Rows []vssubs.RowError
}

func (u *UI) bulkPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	p.Data = &bulkResult{}
	u.render(w, r, http.StatusOK, "bulk", p)
	return nil
}

// bulkAdd reads the uploaded template and hands every row to the portal at once: all
// are added or none is, and each bad row is shown with its number in the file.
func (u *UI) bulkAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	res := &bulkResult{}
	p.Data = res
	refuse := func(err error) error {
		var be *vssubs.BulkError
		if errors.As(err, &be) {
			res.Rows = slices.Clone(be.Rows)
			slices.SortStableFunc(res.Rows, func(a, b vssubs.RowError) int { return a.Row - b.Row })
			p.Error = c.T("bulk.refused", len(res.Rows))
		} else {
			p.Error, p.Fields = c.problems(err)
		}
		u.render(w, r, statusOf(err), "bulk", p)
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return refuse(&vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "file", Reason: c.T("bulk.no_file")}}})
	}
	defer file.Close()
	format, err := spreadsheet.FormatOf(hdr.Filename)
	if err != nil {
		return refuse(err)
	}
	rows, err := spreadsheet.ReadBulk(file, format)
	if err != nil {
		return refuse(err)
	}
	out, err := c.client.Subscribers.BulkAdd(c.ctx, p.Agreement.ID, vssubs.BulkAddRequest{Rows: rows})
	if err != nil {
		return refuse(err)
	}
	redirectDone(w, r, p.AgreementPath("/subscribers"), "bulk_added", out.Added)
	return nil
}

// template downloads the bulk template, with its drop-down lists.
func (u *UI) template(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="subscribers_template.xlsx"`)
	return spreadsheet.WriteTemplate(w, spreadsheet.XLSX)
}

// lazyDownload sets a download's headers with its first byte, so a refusal that comes
// before any row is still shown as a page.
type lazyDownload struct {
	w       http.ResponseWriter
	name    func() string
	started bool
}

func (d *lazyDownload) Write(b []byte) (int, error) {
	if !d.started {
		d.started = true
		d.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		d.w.Header().Set("Content-Disposition", `attachment; filename="`+d.name()+`"`)
	}
	return d.w.Write(b)
}

// export downloads the grid's subscribers, with its search and level, as CSV, streamed
// page by page from the portal.
func (u *UI) export(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := c.client.Agreements.Get(c.ctx, r.PathValue("a"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := &lazyDownload{w: w, name: func() string { return vssubs.ExportFileName(a.LicenseNumber, u.cfg.now()) }}
	_, err = c.client.Subscribers.Export(c.ctx, a.ID, d, vssubs.ExportOptions{
		Filter: vssubs.SubscriberFilter{Search: q.Get("q"), Level: vssubs.Level(q.Get("level")), PageSize: vssubs.MaxPageSize},
	})
	if err != nil && !d.started {
		return err
	}
	if err != nil {
		u.cfg.logger.Warn("webui: export cut short", "agreement", a.ID, "error", err.Error())
	}
	return nil
}

// adminList is Manage admins: the admins, and the add form for super admins.
type adminList struct {
	Admins []vssubs.Admin
	Roles  []vssubs.Role
}

var adminFields = []string{vssubs.FieldEmail, "name", vssubs.FieldRole, vssubs.FieldLanguage}

func (u *UI) admins(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "admins")
	if err != nil {
		return err
	}
	return u.renderAdmins(w, r, c, p, http.StatusOK)
}

func (u *UI) renderAdmins(w http.ResponseWriter, r *http.Request, c *call, p *page, status int) error {
	list, err := vssubs.Collect(c.client.Admins.List(c.ctx, p.Agreement.ID))
	if err != nil {
		return err
	}
	p.Data = &adminList{Admins: list, Roles: []vssubs.Role{vssubs.RoleAdmin, vssubs.RoleSuperAdmin}}
	u.render(w, r, status, "admins", p)
	return nil
}

func (u *UI) addAdmin(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "admins")
	if err != nil {
		return err
	}
	p.Form = formValues(r, adminFields...)
	_, err = c.client.Admins.Add(c.ctx, p.Agreement.ID, vssubs.AdminInput{
		Email: p.Form[vssubs.FieldEmail], Name: p.Form["name"], Role: vssubs.Role(p.Form[vssubs.FieldRole]), Language: vssubs.Language(p.Form[vssubs.FieldLanguage]),
	})
	if err != nil {
		p.Error, p.Fields = c.problems(err)
		return u.renderAdmins(w, r, c, p, statusOf(err))
	}
	redirectDone(w, r, p.AgreementPath("/admins"), "admin_added", -1)
	return nil
}

func (u *UI) removeAdmin(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "admins")
	if err != nil {
		return err
	}
	if err := c.client.Admins.Remove(c.ctx, p.Agreement.ID, r.PostFormValue("email")); err != nil {
		p.Error, _ = c.problems(err)
		return u.renderAdmins(w, r, c, p, statusOf(err))
	}
	redirectDone(w, r, p.AgreementPath("/admins"), "admin_removed", -1)
	return nil
}

// partners is the customer's list of partners with access, each with Remove.
func (u *UI) partners(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "partners")
	if err != nil {
		return err
	}
	if p.Data, err = vssubs.Collect(c.client.Access.ListPartners(c.ctx, p.Agreement.ID)); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "partners", p)
	return nil
}

// partnerOf finds the partner a removal is about, so the confirmation names it.
func (u *UI) partnerOf(r *http.Request, c *call, p *page) (vssubs.PartnerAccess, error) {
	for pa, err := range c.client.Access.ListPartners(c.ctx, p.Agreement.ID) {
		if err != nil {
			return pa, err
		}
		if pa.PartnerID == r.PathValue("p") {
			return pa, nil
		}
	}
	return vssubs.PartnerAccess{}, &vssubs.APIError{StatusCode: http.StatusNotFound, Code: vssubs.CodeNotFound}
}

func (u *UI) confirmRemovePartner(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "partners")
	if err != nil {
		return err
	}
	pa, err := u.partnerOf(r, c, p)
	if err != nil {
		return err
	}
	p.Data = pa
	u.render(w, r, http.StatusOK, "removepartner", p)
	return nil
}

func (u *UI) removePartner(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "partners")
	if err != nil {
		return err
	}
	if err := c.client.Access.RemovePartner(c.ctx, p.Agreement.ID, r.PathValue("p")); err != nil {
		return err
	}
	redirectDone(w, r, p.AgreementPath("/partners"), "partner_removed", -1)
	return nil
}

// relationships is the licensing centre's Relationship Summary, with the form that adds
// an Open License to the profile.
func (u *UI) relationships(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.newPage()
	p.Nav = "vlsc"
	if done := r.URL.Query().Get("done"); done != "" && c.has("done."+done) {
		p.Notice = c.T("done." + done)
	}
	return u.renderRelationships(w, r, c, p, http.StatusOK)
}

func (u *UI) renderRelationships(w http.ResponseWriter, r *http.Request, c *call, p *page, status int) error {
	rels, err := vssubs.Collect(c.client.VLSC.Relationships(c.ctx))
	if err != nil {
		return err
	}
	p.Data = rels
	u.render(w, r, status, "vlsc", p)
	return nil
}

func (u *UI) addOpenLicense(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.newPage()
	p.Nav = "vlsc"
	p.Form = formValues(r, vssubs.FieldAuthorizationNumber, vssubs.FieldLicenseNumber)
	_, err := c.client.VLSC.AddOpenLicense(c.ctx, vssubs.AddOpenRequest{
		AuthorizationNumber: p.Form[vssubs.FieldAuthorizationNumber], LicenseNumber: p.Form[vssubs.FieldLicenseNumber],
	})
	if err != nil {
		p.Error, p.Fields = c.problems(err)
		return u.renderRelationships(w, r, c, p, statusOf(err))
	}
	http.Redirect(w, r, "/vlsc?done=license_added", http.StatusSeeOther)
	return nil
}

// licenseDetails is License Details → Visual Studio Subscriptions, with its "click
// here" link to manage the subscriptions.
type licenseDetails struct {
	vssubs.Relationship
	Link string
}

func (u *UI) licenseDetails(w http.ResponseWriter, r *http.Request, c *call) error {
	lic := vssubs.NormalizeNumber(r.PathValue("license"))
	var d licenseDetails
	for rel, err := range c.client.VLSC.Relationships(c.ctx) {
		if err != nil {
			return err
		}
		if rel.LicenseNumber == lic {
			d.Relationship = rel
			break
		}
	}
	if d.LicenseNumber == "" {
		return &vssubs.APIError{StatusCode: http.StatusNotFound, Code: vssubs.CodeNotFound}
	}
	link, err := c.client.VLSC.ManageSubscriptionsLink(c.ctx, lic)
	if err != nil {
		return err
	}
	// The link points at the portal's API host; the browser follows it here, with the
	// link's own token, whatever host the UI reaches the API by.
	lu, err := url.Parse(link.URL)
	if err != nil || lu.Query().Get("token") == "" {
		return fmt.Errorf("webui: the portal issued a manage link without a token: %w", err)
	}
	d.Link = manageLink(lu.Query().Get("token"))
	p := c.newPage()
	p.Nav, p.Data = "vlsc", &d
	u.render(w, r, http.StatusOK, "license", p)
	return nil
}

// manage is where the "click here" link lands: sign in with the Primary Contact's email,
// then claim the license.
type manage struct {
	Token  string
	SignIn string
}

func (u *UI) managePage(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.newPage()
	p.Data = &manage{Token: r.URL.Query().Get("token"), SignIn: "/signin?next=" + urlQueryEscape(r.URL.RequestURI())}
	u.render(w, r, http.StatusOK, "manage", p)
	return nil
}

func (u *UI) claim(w http.ResponseWriter, r *http.Request, c *call) error {
	token := r.PostFormValue("token")
	a, err := c.client.Partners.ClaimFromVLSC(c.ctx, manageLink(token))
	if err != nil {
		p := c.newPage()
		p.Error, p.Fields = c.problems(err)
		p.Data = &manage{Token: token, SignIn: "/signin?next=" + urlQueryEscape(manageLink(token))}
		u.render(w, r, statusOf(err), "manage", p)
		return nil
	}
	http.Redirect(w, r, "/agreements/"+pathEscape(a.ID)+"?done=claimed", http.StatusSeeOther)
	return nil
}

// manageLink is the UI's address of the licensing centre's link: the only URL of the UI
// that carries a token, the link's own.
func manageLink(token string) string { return "/vlsc/manage?token=" + url.QueryEscape(token) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
