package spreadsheet_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// checkBulkFile is what every bulk file read must satisfy, whatever the bytes: a typed
// error or rows numbered as in the file; and the rows the rules accept survive being
// written back and read again unchanged.
func checkBulkFile(t *testing.T, f spreadsheet.Format, data []byte) {
	rows, err := spreadsheet.ReadBulk(bytes.NewReader(data), f)
	if err != nil {
		var ve *vssubs.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) == 0 {
			t.Fatalf("ReadBulk failed with %T %v, want a *ValidationError", err, err)
		}
		return
	}
	prev := 1 // the header
	for _, r := range rows {
		if r.Row <= prev {
			t.Fatalf("row numbers go %d then %d, want increasing from 2", prev, r.Row)
		}
		prev = r.Row
	}
	rules := vssubs.DefaultRules()
	checked, bad := rules.CheckBulkRows(rows)
	refused := map[int]bool{}
	for _, b := range bad {
		if b.Field == "" || b.Reason == "" {
			t.Fatalf("row error %+v names no field or reason", b)
		}
		refused[b.Row] = true
	}
	var good []vssubs.SubscriberInput
	for _, r := range checked {
		if !refused[r.Row] {
			good = append(good, r.SubscriberInput)
		}
	}
	if len(good) == 0 {
		return
	}
	var buf bytes.Buffer
	if err := spreadsheet.WriteBulk(&buf, f, good); err != nil {
		t.Fatalf("WriteBulk of accepted rows: %v", err)
	}
	back, err := spreadsheet.ReadBulk(&buf, f)
	if err != nil {
		t.Fatalf("reading back accepted rows: %v", err)
	}
	again, bad := rules.CheckBulkRows(back)
	if len(bad) > 0 {
		t.Fatalf("accepted rows are refused once written and read back: %+v", bad)
	}
	var got []vssubs.SubscriberInput
	for _, r := range again {
		got = append(got, r.SubscriberInput)
	}
	if diff := cmp.Diff(good, got); diff != "" {
		t.Fatalf("accepted rows change when written and read back (-before +after):\n%s", diff)
	}
}

func FuzzReadBulkCSV(f *testing.F) {
	f.Add([]byte("First name,Last name,Email,Subscription level,Reference,Country/region,Language,Downloads,Notification email\n" +
		"Ada,Lovelace,ada@contoso.com,Enterprise,R&D,gb,fr,Yes,\n" +
		"Alan,Turing,alan@contoso.com,test professional,,GB,,no,alan.t@contoso.com\n"))
	f.Add([]byte("\ufeffemail,first_name,last_name,level,country\nada@contoso.com,Ada,Lovelace,enterprise,GB\n\n,,,,\n"))
	f.Add([]byte("First name,Last name,Email,Subscription level,Country/region\n\"Lovelace, Ada\",x,ada@contoso.com,enterprise,GB,extra\n"))
	f.Add([]byte("First name,First name\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) { checkBulkFile(t, spreadsheet.CSV, data) })
}

func FuzzReadBulkXLSX(f *testing.F) {
	var template, filled bytes.Buffer
	if err := spreadsheet.WriteTemplate(&template, spreadsheet.XLSX); err != nil {
		f.Fatal(err)
	}
	if err := spreadsheet.WriteBulk(&filled, spreadsheet.XLSX, []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Language: "en", Downloads: true},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(template.Bytes())
	f.Add(filled.Bytes())
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Fuzz(func(t *testing.T, data []byte) { checkBulkFile(t, spreadsheet.XLSX, data) })
}
