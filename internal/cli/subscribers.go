package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/english"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

func subscribersCmd() *command {
	return &command{name: "subscribers", summary: "add, bulk-add, edit, list, export and remove subscribers of an agreement", sub: []*command{
		subscribersAddCmd(), subscribersBulkAddCmd(), subscribersTemplateCmd(), subscribersGetCmd(),
		subscribersUpdateCmd(), subscribersListCmd(), subscribersExportCmd(), subscribersRemoveCmd(), subscribersMigrateCmd(),
	}}
}

// subscriberFlags registers one flag per SubscriberInput field.
func subscriberFlags(in *vssubs.SubscriberInput) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&in.FirstName, "first-name", "", "first name")
		fs.StringVar(&in.LastName, "last-name", "", "family name")
		fs.StringVar(&in.Email, "email", "", "sign-in email")
		fs.Func("level", "subscription level: "+levelNames(), func(v string) error { in.Level = vssubs.Level(v); return nil })
		fs.StringVar(&in.Reference, "reference", "", "your reference, such as a cost centre")
		fs.StringVar(&in.Country, "country", "", "two-letter country/region code, such as FR")
		fs.StringVar((*string)(&in.Language), "email-language", "", "language of the email the subscriber is sent: en or fr (default en)")
		fs.BoolVar(&in.Downloads, "downloads", false, "allow software downloads")
		fs.StringVar(&in.NotificationEmail, "notification-email", "", "a separate address for notifications")
	}
}

func subscribersAddCmd() *command {
	var agreement string
	var in vssubs.SubscriberInput
	return &command{name: "add", summary: "assign a subscription; the subscriber is notified in their language",
		flags:    both(agreementFlag(&agreement), subscriberFlags(&in)),
		required: []string{"first-name", "last-name", "email", "level", "country"},
		example:  "vssubs subscribers add --agreement agr_000001 --first-name Ada --last-name Lovelace --email ada@contoso.com --level enterprise --country GB",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			sub, err := c.Subscribers.Add(ctx, id, in)
			if err != nil {
				return err
			}
			return emitSubscriber(s, sub)
		}}
}

func subscribersGetCmd() *command {
	var agreement string
	return &command{name: "get", args: "SUBSCRIBER_ID", nargs: 1, summary: "show one subscriber",
		flags:   agreementFlag(&agreement),
		example: "vssubs subscribers get --agreement agr_000001 sub_000001",
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			sub, err := c.Subscribers.Get(ctx, id, args[0])
			if err != nil {
				return err
			}
			return emitSubscriber(s, sub)
		}}
}

func subscribersUpdateCmd() *command {
	var agreement string
	var in vssubs.SubscriberInput
	var clearReference bool
	return &command{name: "update", args: "SUBSCRIBER_ID", nargs: 1, summary: "change the fields given as flags; the others keep their values",
		example: "vssubs subscribers update --agreement agr_000001 sub_000001 --downloads=false",
		flags: func(fs *flag.FlagSet) {
			agreementFlag(&agreement)(fs)
			subscriberFlags(&in)(fs)
			fs.BoolVar(&clearReference, "clear-reference", false, "remove the reference")
		},
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			cur, err := c.Subscribers.Get(ctx, id, args[0])
			if err != nil {
				return err
			}
			merged := mergeSubscriber(cur.SubscriberInput, in, s.setFlags)
			if clearReference {
				merged.Reference = ""
			}
			sub, err := c.Subscribers.Update(ctx, id, args[0], merged)
			if err != nil {
				return err
			}
			return emitSubscriber(s, sub)
		}}
}

// mergeSubscriber applies the fields whose flags were given to the current values.
func mergeSubscriber(cur, in vssubs.SubscriberInput, set map[string]bool) vssubs.SubscriberInput {
	apply := func(flagName string, dst *string, v string) {
		if set[flagName] {
			*dst = v
		}
	}
	apply("first-name", &cur.FirstName, in.FirstName)
	apply("last-name", &cur.LastName, in.LastName)
	apply("email", &cur.Email, in.Email)
	apply("reference", &cur.Reference, in.Reference)
	apply("country", &cur.Country, in.Country)
	if set["email-language"] {
		cur.Language = in.Language
	}
	apply("notification-email", &cur.NotificationEmail, in.NotificationEmail)
	if set["level"] {
		cur.Level = in.Level
	}
	if set["downloads"] {
		cur.Downloads = in.Downloads
	}
	return cur
}

func filterFlags(f *vssubs.SubscriberFilter) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&f.Search, "search", "", "only subscribers whose name, email or reference contains this")
		fs.Func("level", "only subscribers of this level", func(v string) error { f.Level = vssubs.Level(v); return nil })
	}
}

func subscribersListCmd() *command {
	var agreement string
	var f vssubs.SubscriberFilter
	return &command{name: "list", summary: "list subscribers, page by page, optionally filtered",
		flags:   both(agreementFlag(&agreement), filterFlags(&f)),
		example: "vssubs subscribers list --agreement agr_000001 --search contoso.com",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			return emitList(s, c.Subscribers.List(ctx, id, f), []string{"ID", "NAME", "EMAIL", "LEVEL", "REFERENCE", "COUNTRY", "STATUS", "ASSIGNED"},
				func(sub vssubs.Subscriber) []any {
					return []any{sub.ID, sub.FirstName + " " + sub.LastName, sub.Email, sub.Level, sub.Reference, sub.Country, sub.Status, sub.AssignedAt}
				})
		}}
}

// exportReport is what export prints once the file is written.
type exportReport struct {
	File string `json:"file"`
	Rows int    `json:"rows"`
}

func subscribersExportCmd() *command {
	var agreement, output string
	var o vssubs.ExportOptions
	return &command{name: "export", summary: "write the subscribers as CSV, with their status, to the conventional file name",
		flags: func(fs *flag.FlagSet) {
			agreementFlag(&agreement)(fs)
			filterFlags(&o.Filter)(fs)
			fs.StringVar(&output, "output", "", "file to write; - for stdout (default: subscribers_<license>_<date>.csv)")
			fs.BoolVar(&o.OmitBOM, "no-bom", false, "leave out the UTF-8 byte order mark Excel needs to show accents")
		},
		example: "vssubs subscribers export --agreement agr_000001 --output subscribers.csv",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			if output == "-" {
				_, err := c.Subscribers.Export(ctx, id, s.stdout, o)
				return err
			}
			if output == "" {
				a, err := c.Agreements.Get(ctx, id)
				if err != nil {
					return err
				}
				output = vssubs.ExportFileName(a.LicenseNumber, time.Now())
			}
			file, err := os.Create(output)
			if err != nil {
				return err
			}
			rows, err := c.Subscribers.Export(ctx, id, file, o)
			if cerr := file.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			return s.done(fmt.Sprintf("wrote %s to %s", english.Count(rows, "subscriber"), output), exportReport{File: output, Rows: rows})
		}}
}

// removeReport is what remove prints.
type removeReport struct {
	AgreementID string `json:"agreement_id"`
	Removed     int    `json:"removed"`
}

func subscribersRemoveCmd() *command {
	var agreement string
	return &command{name: "remove", args: "SUBSCRIBER_ID...", nargs: 1, variadic: true,
		summary: "remove subscribers by id; any number, sent in batches of 500",
		flags:   agreementFlag(&agreement),
		example: "vssubs subscribers remove --agreement agr_000001 sub_000001 sub_000002",
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			n, err := c.Subscribers.Remove(ctx, id, args)
			if err != nil {
				return err
			}
			return s.done(fmt.Sprintf("removed %s from %s", english.Count(n, "subscriber"), id), removeReport{AgreementID: id, Removed: n})
		}}
}

// bulkReport is what bulk-add prints once the rows are added.
type bulkReport struct {
	AgreementID   string   `json:"agreement_id"`
	BulkID        string   `json:"bulk_id"`
	Added         int      `json:"added"`
	SubscriberIDs []string `json:"subscriber_ids"`
}

func subscribersBulkAddCmd() *command {
	var agreement, format, key string
	var maxErrors int
	return &command{name: "bulk-add", args: "FILE", nargs: 1,
		summary: "add every row of the portal's spreadsheet template (.xlsx) or a CSV, or none; every bad row is listed",
		flags: func(fs *flag.FlagSet) {
			agreementFlag(&agreement)(fs)
			fs.StringVar(&format, "format", "", "xlsx or csv (default: from the file name; required for - as stdin)")
			fs.StringVar(&key, "idempotency-key", "", "repeat a bulk add safely: the same key adds the rows at most once")
			fs.IntVar(&maxErrors, "max-errors", defaultMaxErrors, "when the file is refused, print at most this many row problems, then a summary (--json prints every one)")
		},
		example: "vssubs subscribers bulk-add --agreement agr_000001 subscribers.xlsx",
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			rows, err := readBulkFile(s, args[0], format)
			if err != nil {
				return err
			}
			req := vssubs.BulkAddRequest{Rows: rows}
			var bar *progressBar
			if s.tty {
				bar = &progressBar{w: s.stderr, label: "adding"}
				req.Progress = bar.update
			}
			s.maxErrors = maxErrors
			var opts []vssubs.CallOption
			if key != "" {
				opts = append(opts, vssubs.WithIdempotencyKey(key))
			}
			res, err := c.Subscribers.BulkAdd(ctx, id, req, opts...)
			bar.clear()
			if err != nil {
				return err
			}
			return s.done(fmt.Sprintf("added %s to %s (bulk %s)", english.Count(res.Added, "subscriber"), id, res.BulkID),
				bulkReport{AgreementID: id, BulkID: res.BulkID, Added: res.Added, SubscriberIDs: res.SubscriberIDs})
		}}
}

// migrateReport is what migrate prints: the plan on a dry run, else what was done.
type migrateReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	*vssubs.MigrateResult
}

func subscribersMigrateCmd() *command {
	var from, to, key string
	var o vssubs.MigrateOptions
	return &command{name: "migrate", summary: "move subscribers to another agreement: one all-or-nothing bulk add there, then removal here; rerun with the same key to resume",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "the agreement the subscribers leave")
			fs.StringVar(&to, "to", "", "the agreement they move to")
			fs.StringVar(&o.Filter.Search, "search", "", "only subscribers whose name, email or reference contains this")
			fs.Func("level", "only subscribers of this level", func(v string) error { o.Filter.Level = vssubs.Level(v); return nil })
			fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
			fs.StringVar(&key, "idempotency-key", "", "resume a migration that stopped: give the key it printed")
		},
		required: []string{"from", "to"},
		example:  "vssubs subscribers migrate --from agr_000001 --to agr_000002 --search @contoso.com --dry-run",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, err := s.newClient()
			if err != nil {
				return err
			}
			var opts []vssubs.CallOption
			if key != "" {
				opts = append(opts, vssubs.WithIdempotencyKey(key))
			}
			res, err := c.Subscribers.Migrate(ctx, from, to, o, opts...)
			if err != nil {
				return err
			}
			if s.json {
				return writeJSON(s.stdout, migrateReport{From: from, To: to, MigrateResult: res})
			}
			copied := map[string]bool{}
			for _, sub := range res.Copy {
				copied[sub.ID] = true
			}
			err = emitList(s, sliceSeq(res.Remove), []string{"SUBSCRIBER", "EMAIL", "LEVEL", "ACTION"}, func(sub vssubs.Subscriber) []any {
				action := "copy to " + to + ", remove from " + from
				if !copied[sub.ID] {
					action = "already on " + to + ", remove from " + from
				}
				return []any{sub.ID, sub.Email, sub.Level, action}
			})
			if err != nil {
				return err
			}
			n := english.Count(len(res.Remove), "subscriber")
			if res.DryRun {
				_, err = fmt.Fprintf(s.stdout, "\ndry run: would move %s from %s to %s; nothing was changed\n", n, from, to)
			} else {
				_, err = fmt.Fprintf(s.stdout, "\nmoved %s from %s to %s\n", n, from, to)
			}
			return err
		}}
}

func readBulkFile(s *session, name, format string) ([]vssubs.BulkRow, error) {
	f := spreadsheet.Format(format)
	if format == "" {
		if name == "-" {
			return nil, &usageError{msg: "reading from stdin needs --format xlsx or csv"}
		}
		var err error
		if f, err = spreadsheet.FormatOf(name); err != nil {
			return nil, err
		}
	}
	var r io.Reader = s.stdin
	if name != "-" {
		file, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &usageError{msg: "no such file: " + name}
		}
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("cannot read %s: %v", name, errors.Unwrap(err))}
		}
		defer file.Close()
		r = file
	}
	return spreadsheet.ReadBulk(r, f)
}

func subscribersTemplateCmd() *command {
	return &command{name: "template", args: "FILE", nargs: 1, summary: "write the portal's bulk-add template (.xlsx or .csv) to fill in",
		example: "vssubs subscribers template subscribers.xlsx",
		run: func(_ context.Context, s *session, args []string) error {
			f, err := spreadsheet.FormatOf(args[0])
			if err != nil {
				return err
			}
			file, err := os.Create(args[0])
			if err != nil {
				return err
			}
			err = spreadsheet.WriteTemplate(file, f)
			if cerr := file.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			return s.done("wrote the template to "+args[0], exportReport{File: args[0]})
		}}
}

func emitSubscriber(s *session, sub *vssubs.Subscriber) error {
	return s.emit(sub,
		field{"ID", sub.ID}, field{"NAME", sub.FirstName + " " + sub.LastName}, field{"EMAIL", sub.Email},
		field{"LEVEL", sub.Level}, field{"REFERENCE", sub.Reference}, field{"COUNTRY", sub.Country},
		field{"LANGUAGE", sub.Language}, field{"DOWNLOADS", sub.Downloads},
		field{"NOTIFICATION EMAIL", sub.NotificationEmail}, field{"STATUS", sub.Status},
		field{"ASSIGNED", sub.AssignedAt})
}

func adminsCmd() *command {
	return &command{name: "admins", summary: "list, add and remove the admins of an agreement (super admins add and remove)", sub: []*command{
		adminsListCmd(), adminsAddCmd(), adminsRemoveCmd(),
	}}
}

func adminsListCmd() *command {
	var agreement string
	return &command{name: "list", summary: "list the super admins and admins",
		flags:   agreementFlag(&agreement),
		example: "vssubs admins list --agreement agr_000001",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			return emitList(s, c.Admins.List(ctx, id), []string{"EMAIL", "NAME", "ROLE", "ADDED BY", "ADDED"},
				func(a vssubs.Admin) []any { return []any{a.Email, a.Name, a.Role, a.AddedBy, a.AddedAt} })
		}}
}

func adminsAddCmd() *command {
	var agreement string
	var in vssubs.AdminInput
	return &command{name: "add", summary: "make someone admin or super admin; they receive an admin_invitation",
		flags: func(fs *flag.FlagSet) {
			agreementFlag(&agreement)(fs)
			fs.StringVar(&in.Email, "email", "", "the new admin's email")
			fs.StringVar(&in.Name, "name", "", "the new admin's name")
			fs.Func("role", "admin or super_admin (default admin)", func(v string) error { in.Role = vssubs.Role(v); return nil })
			fs.StringVar((*string)(&in.Language), "email-language", "", "language of the invitation email: en or fr (default en)")
		},
		required: []string{"email"},
		example:  "vssubs admins add --agreement agr_000001 --email pat@contoso.com --name Pat --role super_admin",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			a, err := c.Admins.Add(ctx, id, in)
			if err != nil {
				return err
			}
			return s.emit(a, field{"EMAIL", a.Email}, field{"NAME", a.Name}, field{"ROLE", a.Role}, field{"ADDED", a.AddedAt})
		}}
}

func adminsRemoveCmd() *command {
	var agreement string
	return &command{name: "remove", args: "EMAIL", nargs: 1, summary: "take an admin role away; the last two super admins stay",
		flags:   agreementFlag(&agreement),
		example: "vssubs admins remove --agreement agr_000001 pat@contoso.com",
		run: func(ctx context.Context, s *session, args []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			if err := c.Admins.Remove(ctx, id, args[0]); err != nil {
				return err
			}
			return s.done("removed admin "+args[0]+" from "+id, map[string]string{"agreement_id": id, "removed_admin": args[0]})
		}}
}

func overviewCmd() *command {
	var agreement string
	return &command{name: "overview", summary: "seats per level: purchased, assigned, available, and the 12-month peak",
		flags:   agreementFlag(&agreement),
		example: "vssubs overview --agreement agr_000001",
		run: func(ctx context.Context, s *session, _ []string) error {
			c, id, err := s.scoped(agreement)
			if err != nil {
				return err
			}
			o, err := c.Subscribers.Overview(ctx, id)
			if err != nil {
				return err
			}
			if s.json {
				return writeJSON(s.stdout, o)
			}
			return emitList(s, sliceSeq(o.Levels), []string{"LEVEL", "PURCHASED", "ASSIGNED", "AVAILABLE", "PEAK (12 MONTHS)"},
				func(u vssubs.LevelUsage) []any { return []any{u.Level, u.Purchased, u.Assigned, u.Available, u.Peak} })
		}}
}

// both registers the flags of each setup in turn.
func both(setups ...func(fs *flag.FlagSet)) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		for _, f := range setups {
			f(fs)
		}
	}
}
