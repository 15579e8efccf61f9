package spreadsheet_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// Rows written to a bulk file read back the same, in both formats, numbered as in the
// file; the template is the header alone.
func TestBulkFileRoundTrip(t *testing.T) {
	in := []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Reference: "R&D", Country: "GB", Language: "en", Downloads: true},
		{FirstName: "Émilie", LastName: "du Châtelet", Email: "emilie@contoso.example", Level: vssubs.LevelTestProfessional, Country: "FR", Language: "fr", NotificationEmail: "emilie@fabrikam.example"},
	}
	for _, f := range []spreadsheet.Format{spreadsheet.CSV, spreadsheet.XLSX} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := spreadsheet.WriteBulk(&buf, f, in); err != nil {
				t.Fatal(err)
			}
			rows, err := spreadsheet.ReadBulk(&buf, f)
			if err != nil {
				t.Fatal(err)
			}
			want := []vssubs.BulkRow{{Row: 2, SubscriberInput: in[0]}, {Row: 3, SubscriberInput: in[1]}}
			if diff := cmp.Diff(want, rows, cmpopts.IgnoreUnexported(vssubs.BulkRow{})); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}

			buf.Reset()
			if err := spreadsheet.WriteTemplate(&buf, f); err != nil {
				t.Fatal(err)
			}
			rows, err = spreadsheet.ReadBulk(&buf, f)
			if err != nil || len(rows) != 0 {
				t.Errorf("the template reads as %d rows, %v", len(rows), err)
			}
		})
	}
}

// The .xlsx template has the header on a sheet of its own and offers the levels as a
// drop-down list of the names people read, not codes.
func TestBulkTemplateXLSX(t *testing.T) {
	var buf bytes.Buffer
	if err := spreadsheet.WriteTemplate(&buf, spreadsheet.XLSX); err != nil {
		t.Fatal(err)
	}
	book, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	header, err := book.GetRows(spreadsheet.Sheet)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{spreadsheet.Columns()}, header); diff != "" {
		t.Errorf("template rows (-want +got):\n%s", diff)
	}
	dvs, err := book.GetDataValidations(spreadsheet.Sheet)
	if err != nil {
		t.Fatal(err)
	}
	var lists []string
	for _, dv := range dvs {
		lists = append(lists, dv.Formula1)
	}
	if !strings.Contains(strings.Join(lists, " "), "Visual Studio Enterprise,Visual Studio Enterprise with GitHub Enterprise,Visual Studio Professional,Visual Studio Test Professional,MSDN Platforms") {
		t.Errorf("no drop-down of the levels among %q", lists)
	}
}

// Reading a file keeps problems with the rows they are in, to be reported with every
// other bad row; only a file that is not a bulk file at all is refused on reading.
func TestReadBulkProblems(t *testing.T) {
	tests := []struct {
		name     string
		csv      string
		wantFile []vssubs.FieldError
		wantRows []vssubs.RowError
	}{
		{
			name: "an unquoted comma shifts the row's cells and is reported as such",
			csv:  "First name,Last name,Email,Subscription level,Country/region\nAda,Lovelace,Countess,ada@contoso.example,enterprise,GB\n",
			wantRows: []vssubs.RowError{
				{Row: 2, Field: "row", Reason: "has 6 values for 5 columns: a value contains a comma"},
				{Row: 2, Field: "email", Reason: "must be a plain email address such as name@contoso.com"},
				{Row: 2, Field: "level", Reason: `unknown level "ada@contoso.example"`},
				{Row: 2, Field: "country", Reason: "must be a two-letter ISO 3166 code such as FR or US"},
			},
		},
		{
			name:     "a downloads cell is yes or no",
			csv:      "first_name,last_name,email,level,country,downloads\nAda,Lovelace,ada@contoso.example,Enterprise,GB,maybe\n\nAlan,Turing,alan@contoso.example,Test Professional,GB,oui\n",
			wantRows: []vssubs.RowError{{Row: 2, Field: "downloads", Reason: "must be Yes or No"}},
		},
		{
			name: "missing columns refuse the file with one error naming them all",
			csv:  "First name,Email,Subscription level\nAda,ada@contoso.example,enterprise\nAlan,alan@contoso.example,enterprise\n",
			wantFile: []vssubs.FieldError{
				{Field: "header", Reason: `the columns "Last name" and "Country/region" are missing`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := spreadsheet.ReadBulk(strings.NewReader(tc.csv), spreadsheet.CSV)
			if tc.wantFile != nil {
				var ve *vssubs.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("want *ValidationError, got %v", err)
				}
				if diff := cmp.Diff(tc.wantFile, ve.Fields); diff != "" {
					t.Errorf("file problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, bad := vssubs.DefaultRules().CheckBulkRows(rows)
			if diff := cmp.Diff(tc.wantRows, bad); diff != "" {
				t.Errorf("row problems (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := spreadsheet.ReadBulk(strings.NewReader("not a zip"), spreadsheet.XLSX); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("a file that is not .xlsx: want ErrValidation, got %v", err)
	}
	if _, err := spreadsheet.FormatOf("people.ods"); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("BulkFormatOf(.ods): want ErrValidation, got %v", err)
	}
}

// A spreadsheet made by hand, with columns in another order and a blank row, reads with
// its rows numbered as the user sees them.
func TestReadBulkHandMadeSpreadsheet(t *testing.T) {
	book := excelize.NewFile()
	defer book.Close()
	sheet := "Sheet1"
	for i, rec := range [][]any{
		{"Email", "First name", "Last name", "Country/region", "Subscription level", "Downloads"},
		{"ada@contoso.example", "Ada", "Lovelace", "GB", "Enterprise", "Yes"},
		{},
		{"alan@contoso.example", "Alan", "Turing", "GB", "professional", "No"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := book.SetSheetRow(sheet, cell, &rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := book.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := spreadsheet.ReadBulk(io.Reader(&buf), spreadsheet.XLSX)
	if err != nil {
		t.Fatal(err)
	}
	want := []vssubs.BulkRow{
		{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB", Downloads: true}},
		{Row: 4, SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.example", Level: vssubs.LevelProfessional, Country: "GB"}},
	}
	if diff := cmp.Diff(want, rows, cmpopts.IgnoreUnexported(vssubs.BulkRow{})); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
