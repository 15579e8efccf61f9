package spreadsheet_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

var ignoreUnexported = cmpopts.IgnoreUnexported(vssubs.BulkRow{})

// The files people have, written to Microsoft's documented layouts, read as the
// subscribers they hold, and a bulk add from each lands on an agreement.
func TestReadMicrosoftLayouts(t *testing.T) {
	ada := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada.lovelace@contoso.com", Level: vssubs.LevelEnterprise, Reference: "R&D", Downloads: true, Country: "GB", Language: "en"}
	emilie := vssubs.SubscriberInput{FirstName: "Émilie", LastName: "du Châtelet", Email: "emilie.duchatelet@contoso.com", NotificationEmail: "emilie@fabrikam.com", Level: vssubs.LevelProfessional, Country: "FR", Language: "fr"}
	grace := vssubs.SubscriberInput{FirstName: "Grace", LastName: "Hopper", Email: "grace.hopper@contoso.com", Level: vssubs.LevelEnterprise, Reference: "CC-042", Downloads: true, Country: "US", Language: "en"}
	template := []vssubs.BulkRow{{Row: 2, SubscriberInput: ada}, {Row: 3, SubscriberInput: emilie}, {Row: 4, SubscriberInput: grace}}
	for _, tc := range []struct {
		file string
		want []vssubs.BulkRow
	}{
		{"microsoft-bulk-add-template.xlsx", template},
		{"microsoft-bulk-add-template.csv", template},
		{"microsoft-portal-export.csv", []vssubs.BulkRow{
			{Row: 2, SubscriberInput: ada},
			{Row: 3, SubscriberInput: vssubs.SubscriberInput{FirstName: "Mary Ann", LastName: "Evans", Email: "mary.evans@contoso.com", NotificationEmail: "mae@fabrikam.com", Level: vssubs.LevelProfessional, Country: "FR", Language: "fr"}},
			{Row: 4, SubscriberInput: vssubs.SubscriberInput{FirstName: "Grace", LastName: "Hopper", Email: "grace.hopper@contoso.com", Level: vssubs.LevelEnterprise, Reference: "CC-042", Downloads: true, Country: "US", Language: "en"}},
		}},
		{"french-excel.csv", []vssubs.BulkRow{
			{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Émilie", LastName: "du Châtelet", Email: "emilie.duchatelet@contoso.com", Level: vssubs.LevelProfessional, Reference: "Équipe Qualité", Downloads: true, Country: "FR", Language: "fr"}},
			{Row: 3, SubscriberInput: vssubs.SubscriberInput{FirstName: "Hélène", LastName: "Bézier", Email: "helene.bezier@contoso.com", NotificationEmail: "helene@fabrikam.com", Level: vssubs.LevelEnterprise, Reference: "R&D Lyon", Country: "BE", Language: "fr"}},
			{Row: 4, SubscriberInput: vssubs.SubscriberInput{FirstName: "François", LastName: "Lefèvre", Email: "francois.lefevre@contoso.com", Level: vssubs.LevelEnterprise, Downloads: true, Country: "FR", Language: "fr"}},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			format, err := spreadsheet.FormatOf(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := spreadsheet.ReadBulk(f, format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rows, ignoreUnexported); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			landBulkAdd(t, rows)
		})
	}
}

// landBulkAdd bulk-adds rows to a fresh agreement of the embedded portal and checks that
// every row became a subscriber.
func landBulkAdd(t *testing.T, rows []vssubs.BulkRow) {
	t.Helper()
	ctx := context.Background()
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	partner, err := p.Client("partner@fabrikam-partners.com")
	if err != nil {
		t.Fatal(err)
	}
	o, err := partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}, {Level: vssubs.LevelProfessional, Quantity: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	customer, err := p.Client("it@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	res, err := customer.Subscribers.BulkAdd(ctx, o.AgreementID, vssubs.BulkAddRequest{Rows: rows})
	if err != nil {
		t.Fatalf("bulk add: %v", err)
	}
	if res.Added != len(rows) {
		t.Errorf("added %d subscribers, want %d", res.Added, len(rows))
	}
}

// readCSV reads a CSV bulk file from text, failing the test on a file error.
func readCSV(t *testing.T, text string) []vssubs.BulkRow {
	t.Helper()
	rows, err := spreadsheet.ReadBulk(strings.NewReader(text), spreadsheet.CSV)
	if err != nil {
		t.Fatalf("ReadBulk: %v", err)
	}
	return rows
}

// Headers match without regard to case, spacing, accents or underscores, under each
// documented alias.
func TestHeaderAliases(t *testing.T) {
	want := []vssubs.BulkRow{{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Downloads: true}}}
	for _, header := range []string{
		"First name,Last name,Email,Subscription level,Country/region,Downloads",
		"FIRST NAME,last name,EMAIL,subscription LEVEL,COUNTRY/REGION,downloads",
		"first_name,last_name,email,level,country,downloads",
		"  First  Name ,Last-Name,Sign-in Email,Subscription Level,Country,Download",
		"Prénom,Nom,Courriel,Niveau d'abonnement,Pays,Téléchargements",
		"Given name,Surname,E-mail,Subscription,Country or region,DOWNLOADS",
	} {
		t.Run(header, func(t *testing.T) {
			got := readCSV(t, header+"\nAda,Lovelace,ada@contoso.com,enterprise,GB,yes\n")
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// A header that is no known column refuses the file, naming the header and the expected
// columns, instead of silently dropping a column such as downloads.
func TestUnknownHeaderIsRefused(t *testing.T) {
	_, err := spreadsheet.ReadBulk(strings.NewReader("First name,Last name,Email,Subscription level,Country,Downlaods\nAda,Lovelace,ada@contoso.com,enterprise,GB,Yes\n"), spreadsheet.CSV)
	var ve *vssubs.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 {
		t.Fatalf("want one *ValidationError field, got %v", err)
	}
	reason := ve.Fields[0].Reason
	for _, part := range []string{`unknown column "Downlaods"`, `did you mean "Downloads"?`, "Subscription level", "Notification email", "Country/region"} {
		if !strings.Contains(reason, part) {
			t.Errorf("reason %q does not say %q", reason, part)
		}
	}
}

// Missing required columns are one error for the file, however many rows it has.
func TestMissingHeadersAreOneError(t *testing.T) {
	for _, tc := range []struct{ name, header, want string }{
		{"no names at all", "Email,Subscription level,Country", `the columns "First name" and "Last name (or one Name column)" are missing`},
		{"a first name without its last name", "First name,Email,Subscription level,Country", `the column "Last name" is missing`},
		{"no email, level or country", "Name", `the columns "Email", "Subscription level" and "Country/region" are missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.header + "\n" + strings.Repeat("x,y,z,w\n", 50)
			_, err := spreadsheet.ReadBulk(strings.NewReader(body), spreadsheet.CSV)
			var ve *vssubs.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			if diff := cmp.Diff([]vssubs.FieldError{{Field: "header", Reason: tc.want}}, ve.Fields); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Cells are read as people write them: levels as Microsoft names them or as codes,
// languages and countries as names or codes, downloads in several words.
func TestCellsAsPeopleWriteThem(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		level, country, lang, dl string
		wantLevel                vssubs.Level
		wantCountry, wantLang    string
		wantDownloads            bool
	}{
		{"Microsoft's level name", "Visual Studio Enterprise", "GB", "en", "Yes", vssubs.LevelEnterprise, "GB", "en", true},
		{"the short level name", "Enterprise", "GB", "en", "No", vssubs.LevelEnterprise, "GB", "en", false},
		{"the level code", "enterprise", "GB", "en", "", vssubs.LevelEnterprise, "GB", "en", false},
		{"a level with the word subscription", "Visual Studio Test Professional subscription", "GB", "en", "", vssubs.LevelTestProfessional, "GB", "en", false},
		{"the GitHub level by name", "Visual Studio Enterprise with GitHub Enterprise", "GB", "en", "", vssubs.LevelEnterpriseGitHub, "GB", "en", false},
		{"the GitHub level by code", "enterprise_github", "GB", "en", "", vssubs.LevelEnterpriseGitHub, "GB", "en", false},
		{"MSDN Platforms", "MSDN Platforms", "GB", "en", "", vssubs.LevelMSDNPlatforms, "GB", "en", false},
		{"a country by English name", "Enterprise", "Germany", "English", "Enabled", vssubs.LevelEnterprise, "DE", "en", true},
		{"a country by French name", "Enterprise", "Allemagne", "Français", "Disabled", vssubs.LevelEnterprise, "DE", "fr", false},
		{"a country name in capitals", "Enterprise", "UNITED STATES", "french", "TRUE", vssubs.LevelEnterprise, "US", "fr", true},
		{"a language with a region", "Enterprise", "fr", "fr-CA", "1", vssubs.LevelEnterprise, "fr", "fr", true},
		{"an unknown level is kept for validation", "Ultimate", "GB", "en", "", "Ultimate", "GB", "en", false},
		{"an unknown country is kept for validation", "Enterprise", "Atlantis", "en", "", vssubs.LevelEnterprise, "Atlantis", "en", false},
		{"an unknown language is kept for validation", "Enterprise", "GB", "Klingon", "", vssubs.LevelEnterprise, "GB", "Klingon", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := readCSV(t, "Name,Email,Subscription level,Country,Language,Downloads\n"+
				strings.Join([]string{"Ada Lovelace", "ada@contoso.com", tc.level, tc.country, tc.lang, tc.dl}, ",")+"\n")
			want := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: tc.wantLevel, Country: tc.wantCountry, Language: vssubs.Language(tc.wantLang), Downloads: tc.wantDownloads}
			if diff := cmp.Diff(want, rows[0].SubscriberInput); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A combined name is split at a comma as "Last, First", else at its last space; a
// one-word name is a problem of its row.
func TestCombinedNameSplit(t *testing.T) {
	for _, tc := range []struct {
		name, cell, first, last string
		problem                 bool
	}{
		{"two words", "Ada Lovelace", "Ada", "Lovelace", false},
		{"the last word is the last name", "Mary Ann Evans", "Mary Ann", "Evans", false},
		{"last name first, with a comma", "Hopper, Grace", "Grace", "Hopper", false},
		{"a compound last name after a comma", "du Châtelet, Émilie", "Émilie", "du Châtelet", false},
		{"one word is a problem", "Cher", "Cher", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := readCSV(t, "Subscriber Name,Email,Subscription Level,Country\n\""+tc.cell+"\",ada@contoso.com,Enterprise,GB\n")
			if rows[0].FirstName != tc.first || rows[0].LastName != tc.last {
				t.Errorf("split %q into %q, %q; want %q, %q", tc.cell, rows[0].FirstName, rows[0].LastName, tc.first, tc.last)
			}
			_, bad := vssubs.DefaultRules().CheckBulkRows(rows)
			hasProblem := false
			for _, b := range bad {
				hasProblem = hasProblem || b.Field == "name"
			}
			if hasProblem != tc.problem {
				t.Errorf("row problems %+v; want a name problem: %v", bad, tc.problem)
			}
		})
	}
}

// The separator is the one the header line uses: comma, semicolon or tab, or the one a
// "sep=" line names.
func TestSeparatorDetection(t *testing.T) {
	want := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Reference: "R;D"}
	for _, tc := range []struct{ name, text string }{
		{"comma", "First name,Last name,Email,Subscription level,Country,Reference\nAda,Lovelace,ada@contoso.com,enterprise,GB,R;D\n"},
		{"semicolon", "First name;Last name;Email;Subscription level;Country;Reference\nAda;Lovelace;ada@contoso.com;enterprise;GB;\"R;D\"\n"},
		{"tab", "First name\tLast name\tEmail\tSubscription level\tCountry\tReference\nAda\tLovelace\tada@contoso.com\tenterprise\tGB\tR;D\n"},
		{"quoted cells", "\"First name\",\"Last name\",\"Email\",\"Subscription level\",\"Country\",\"Reference\"\n\"Ada\",\"Lovelace\",\"ada@contoso.com\",\"enterprise\",\"GB\",\"R;D\"\n"},
		{"a sep= line", "sep=;\r\nFirst name;Last name;Email;Subscription level;Country;Reference\r\nAda;Lovelace;ada@contoso.com;enterprise;GB;\"R;D\"\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := readCSV(t, tc.text)
			wantRow := 2
			if strings.HasPrefix(tc.text, "sep=") {
				wantRow = 3
			}
			if diff := cmp.Diff([]vssubs.BulkRow{{Row: wantRow, SubscriberInput: want}}, rows, ignoreUnexported); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A file that is not UTF-8 is read as Windows-1252; a UTF-8 or UTF-16 byte order mark
// is honoured.
func TestEncodings(t *testing.T) {
	text := "First name;Last name;Email;Subscription level;Country\r\nHélène;Bézier;helene@contoso.com;Enterprise;FR\r\n"
	win, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range strings.ReplaceAll(text, ";", "\t") {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	want := vssubs.SubscriberInput{FirstName: "Hélène", LastName: "Bézier", Email: "helene@contoso.com", Level: vssubs.LevelEnterprise, Country: "FR"}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"UTF-8", []byte(text)},
		{"UTF-8 with a byte order mark", append([]byte("\ufeff"), text...)},
		{"Windows-1252", []byte(win)},
		{"UTF-16 with a byte order mark, as Excel's Unicode Text", utf16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := spreadsheet.ReadBulk(bytes.NewReader(tc.data), spreadsheet.CSV)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]vssubs.BulkRow{{Row: 2, SubscriberInput: want}}, rows, ignoreUnexported); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endlessRows is a CSV file with a header and more rows than any bulk add holds: 3 times the
// row limit, so that a reader ignoring the limit fails the test instead of hanging it.
type endlessRows struct {
	buf []byte
	n   int
}

func (e *endlessRows) Read(p []byte) (int, error) {
	if len(e.buf) == 0 && e.n > 3*vssubs.MaxBulkRows {
		return 0, io.EOF
	}
	if len(e.buf) == 0 {
		if e.n == 0 {
			e.buf = []byte("First name,Last name,Email,Subscription level,Country\n")
		} else {
			e.buf = fmt.Appendf(nil, "Ada,Lovelace,ada%d@contoso.com,enterprise,GB\n", e.n)
		}
		e.n++
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// A file over the row limit is refused as soon as the limit is passed, without reading
// the rest of it.
func TestRowLimitStopsReading(t *testing.T) {
	src := &countingReader{r: &endlessRows{}}
	_, err := spreadsheet.ReadBulk(src, spreadsheet.CSV)
	var ve *vssubs.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Fields[0].Reason, "a bulk add holds at most 100,000") {
		t.Fatalf("want the row limit error, got %v", err)
	}
	if !strings.Contains(ve.Fields[0].Reason, "row 100002") {
		t.Errorf("reason %q does not name the first row over the limit", ve.Fields[0].Reason)
	}
	// About 45 bytes a row: reading stopped within two buffers of the limit.
	if limit := int64(100_001*50 + 2*64<<10); src.n > limit {
		t.Errorf("read %d bytes, want at most %d: the reader went on past the limit", src.n, limit)
	}
}

// Values that a spreadsheet would run as formulas are written neutralized, in CSV and
// .xlsx alike, and read back as they were.
func TestFormulasAreNeutralized(t *testing.T) {
	evil := []string{`=HYPERLINK("http://evil.example/x")`, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "'=already quoted"}
	var in []vssubs.SubscriberInput
	for i, v := range evil {
		in = append(in, vssubs.SubscriberInput{FirstName: v, LastName: "Lovelace", Email: fmt.Sprintf("ada%d@contoso.com", i), Level: vssubs.LevelEnterprise, Country: "GB", Reference: v, Language: "en"})
	}
	for _, f := range []spreadsheet.Format{spreadsheet.CSV, spreadsheet.XLSX} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := spreadsheet.WriteBulk(&buf, f, in); err != nil {
				t.Fatal(err)
			}
			for i, cell := range writtenCells(t, f, buf.Bytes(), len(in)) {
				if want := "'" + evil[i]; cell[0] != want || cell[4] != want {
					t.Errorf("row %d written as %q and %q, want %q", i+2, cell[0], cell[4], want)
				}
			}
			rows, err := spreadsheet.ReadBulk(bytes.NewReader(buf.Bytes()), f)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rows {
				if r.SubscriberInput != in[i] {
					t.Errorf("row %d read back as %+v, want %+v", r.Row, r.SubscriberInput, in[i])
				}
			}
		})
	}
}

// writtenCells returns the cells of a written file's first n data rows, as a
// spreadsheet program sees them.
func writtenCells(t *testing.T, f spreadsheet.Format, data []byte, n int) [][]string {
	t.Helper()
	if f == spreadsheet.CSV {
		if !bytes.HasPrefix(data, []byte("\ufeff")) {
			t.Errorf("CSV does not start with a UTF-8 byte order mark")
		}
		var out [][]string
		rows, err := csvRecords(bytes.TrimPrefix(data, []byte("\ufeff")))
		if err != nil {
			t.Fatal(err)
		}
		out = rows[1 : n+1]
		return out
	}
	book, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	rows, err := book.GetRows(spreadsheet.Sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if f, _ := book.GetCellFormula(spreadsheet.Sheet, fmt.Sprintf("A%d", i+1)); f != "" {
			t.Errorf("cell A%d holds the formula %q", i+1, f)
		}
	}
	return rows[1 : n+1]
}

func csvRecords(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

// WithoutBOM leaves the byte order mark out of a CSV file.
func TestWithoutBOM(t *testing.T) {
	var buf bytes.Buffer
	if err := spreadsheet.WriteTemplate(&buf, spreadsheet.CSV, spreadsheet.WithoutBOM()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "First name,") {
		t.Errorf("template starts %q, want the header without a byte order mark", buf.String()[:10])
	}
}
