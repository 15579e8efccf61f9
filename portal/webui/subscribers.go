package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
)

// grid is one page of Manage subscribers, with the links that move through the pages.
type grid struct {
	Items  []vssubs.Subscriber
	Search string
	Level  string
	Levels []vssubs.Level
	// Prev and Next are the neighbouring pages' URLs, "" at either end.
	Prev, Next string
	Export     string
}

// maxTrail bounds how many earlier pages the Previous link remembers, so its URL stays
// short; going further back starts over from the first page.
const maxTrail = 50

// subscribers is the grid. It fetches one page from the portal per view, through the
// cursor the portal issued: a 100k-subscriber agreement costs no more than a small one.
// The Previous link carries the cursors of the pages before, since cursors only go
// forward.
func (u *UI) subscribers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	g := &grid{Search: q.Get("q"), Level: q.Get("level"), Levels: purchased(p.Agreement)}
	f := vssubs.SubscriberFilter{Search: g.Search, Level: vssubs.Level(g.Level), PageSize: u.cfg.pageSize}
	cursor := q.Get("cursor")
	var trail []string
	if t := q.Get("trail"); t != "" {
		trail = strings.Split(t, " ")
	}
	items, nextCursor, err := c.client.Subscribers.ListPage(c.ctx, p.Agreement.ID, f, cursor)
	if err != nil {
		msg, fields := c.problems(err)
		if !errors.Is(err, vssubs.ErrValidation) {
			return err
		}
		p.Error, p.Fields, p.Data = msg, fields, g
		u.render(w, r, http.StatusUnprocessableEntity, "subscribers", p)
		return nil
	}
	g.Items = items
	base := url.Values{}
	if g.Search != "" {
		base.Set("q", g.Search)
	}
	if g.Level != "" {
		base.Set("level", g.Level)
	}
	link := func(cursor string, trail []string) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		if len(trail) > 0 {
			v.Set("trail", strings.Join(trail, " "))
		}
		if len(v) == 0 {
			return p.AgreementPath("/subscribers")
		}
		return p.AgreementPath("/subscribers") + "?" + v.Encode()
	}
	if nextCursor != "" && len(items) > 0 {
		next := append(slices.Clone(trail), cursorOrFirst(cursor))
		if len(next) > maxTrail {
			next = next[len(next)-maxTrail:]
		}
		g.Next = link(nextCursor, next)
	}
	if cursor != "" {
		if len(trail) == 0 {
			g.Prev = link("", nil)
		} else {
			prev := trail[len(trail)-1]
			if prev == "-" {
				prev = ""
			}
			g.Prev = link(prev, trail[:len(trail)-1])
		}
	}
	g.Export = p.AgreementPath("/subscribers/export.csv")
	if enc := base.Encode(); enc != "" {
		g.Export += "?" + enc
	}
	p.Data = g
	u.render(w, r, http.StatusOK, "subscribers", p)
	return nil
}

// cursorOrFirst names the first page in a trail, whose cursor is empty.
func cursorOrFirst(c string) string {
	if c == "" {
		return "-"
	}
	return c
}

func purchased(a *vssubs.Agreement) []vssubs.Level {
	var out []vssubs.Level
	for _, l := range vssubs.Levels() {
		for _, line := range a.Lines {
			if line.Level == l {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

var subscriberFields = []string{
	vssubs.FieldFirstName, vssubs.FieldLastName, vssubs.FieldEmail, vssubs.FieldLevel, vssubs.FieldReference,
	vssubs.FieldCountry, vssubs.FieldLanguage, "downloads", vssubs.FieldNotificationEmail,
}

// subscriberEdit is the add and edit form.
type subscriberEdit struct {
	Levels []vssubs.Level
	// ID is the subscriber edited, "" when adding.
	ID string
}

func subscriberInput(m map[string]string) vssubs.SubscriberInput {
	return vssubs.SubscriberInput{
		FirstName: m[vssubs.FieldFirstName], LastName: m[vssubs.FieldLastName], Email: m[vssubs.FieldEmail],
		Level: vssubs.Level(m[vssubs.FieldLevel]), Reference: m[vssubs.FieldReference], Country: m[vssubs.FieldCountry],
		Language: vssubs.Language(m[vssubs.FieldLanguage]), Downloads: m["downloads"] == "yes", NotificationEmail: m[vssubs.FieldNotificationEmail],
	}
}

func subscriberForm(s vssubs.SubscriberInput) map[string]string {
	m := map[string]string{
		vssubs.FieldFirstName: s.FirstName, vssubs.FieldLastName: s.LastName, vssubs.FieldEmail: s.Email,
		vssubs.FieldLevel: string(s.Level), vssubs.FieldReference: s.Reference, vssubs.FieldCountry: s.Country,
		vssubs.FieldLanguage: string(s.Language), vssubs.FieldNotificationEmail: s.NotificationEmail,
	}
	if s.Downloads {
		m["downloads"] = "yes"
	}
	return m
}

func (u *UI) subscriberForm(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	ed := &subscriberEdit{Levels: purchased(p.Agreement), ID: r.PathValue("s")}
	p.Form = map[string]string{"downloads": "yes"}
	if ed.ID != "" {
		s, err := c.client.Subscribers.Get(c.ctx, p.Agreement.ID, ed.ID)
		if err != nil {
			return err
		}
		p.Form = subscriberForm(s.SubscriberInput)
		p.Title = c.T("title.subscriber_edit")
	}
	p.Data = ed
	u.render(w, r, http.StatusOK, "subscriber", p)
	return nil
}

func (u *UI) saveSubscriber(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	ed := &subscriberEdit{Levels: purchased(p.Agreement), ID: r.PathValue("s")}
	p.Form = formValues(r, subscriberFields...)
	in := subscriberInput(p.Form)
	done := "subscriber_added"
	if ed.ID == "" {
		_, err = c.client.Subscribers.Add(c.ctx, p.Agreement.ID, in)
	} else {
		_, err = c.client.Subscribers.Update(c.ctx, p.Agreement.ID, ed.ID, in)
		done = "subscriber_updated"
		p.Title = c.T("title.subscriber_edit")
	}
	if err != nil {
		p.Error, p.Fields = c.problems(err)
		p.Data = ed
		u.render(w, r, statusOf(err), "subscriber", p)
		return nil
	}
	redirectDone(w, r, p.AgreementPath("/subscribers"), done, -1)
	return nil
}

// removeSubscribers removes the ticked rows, after a confirmation page that lists them.
func (u *UI) removeSubscribers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "subscribers")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "ids", Reason: "the form could not be read"}}}
	}
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		redirectDone(w, r, p.AgreementPath("/subscribers"), "nothing_selected", -1)
		return nil
	}
	if r.PostFormValue("confirm") != "yes" {
		var rows []vssubs.Subscriber
		for _, id := range ids {
			s, err := c.client.Subscribers.Get(c.ctx, p.Agreement.ID, id)
			if err != nil {
				return err
			}
			rows = append(rows, *s)
		}
		p.Data = rows
		u.render(w, r, http.StatusOK, "removesubscribers", p)
		return nil
	}
	n, err := c.client.Subscribers.Remove(c.ctx, p.Agreement.ID, ids)
	if err != nil {
		return err
	}
	redirectDone(w, r, p.AgreementPath("/subscribers"), "subscribers_removed", n)
	return nil
}
