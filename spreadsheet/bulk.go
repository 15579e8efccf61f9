// Package spreadsheet reads and writes the bulk-add files admins work with: the portal's
// spreadsheet template (.xlsx) and CSV, with rows numbered as in the file.
package spreadsheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cellsafe"
	"github.com/vssubs/vssubs-go/internal/english"
)

// Format is a file format BulkAdd rows are read from and written to.
type Format string

// The bulk file formats: the portal's spreadsheet template, and CSV.
const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
)

// FormatOf returns the format of a file from its name's extension.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx":
		return XLSX, nil
	case ".csv":
		return CSV, nil
	}
	return "", &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "file", Reason: fmt.Sprintf("%q is neither .xlsx nor .csv", filepath.Base(name))}}}
}

// Sheet is the name of the template's worksheet.
const Sheet = "Subscribers"

// Columns returns the header of vssubs's own template, in order. Reading also accepts
// Microsoft's bulk-add template and the Microsoft portal's CSV export; see ReadBulk.
func Columns() []string {
	return []string{"First name", "Last name", "Email", "Subscription level", "Reference", "Country/region", "Language", "Downloads", "Notification email"}
}

// bulkFields are the field names of Columns, in the same order.
func bulkFields() []string {
	return []string{vssubs.FieldFirstName, vssubs.FieldLastName, vssubs.FieldEmail, vssubs.FieldLevel, vssubs.FieldReference, vssubs.FieldCountry, vssubs.FieldLanguage, fieldDownloads, vssubs.FieldNotificationEmail}
}

// cells renders a subscriber as the template's cells, neutralized against formulas.
func cells(in vssubs.SubscriberInput) []string {
	downloads := "No"
	if in.Downloads {
		downloads = "Yes"
	}
	cs := []string{in.FirstName, in.LastName, in.Email, LevelName(in.Level), in.Reference, in.Country, LanguageName(in.Language), downloads, in.NotificationEmail}
	for i, c := range cs {
		cs[i] = cellsafe.Escape(c)
	}
	return cs
}

// rowReader turns a file's records into bulk rows.
type rowReader struct {
	cols      columnMap
	countries countries
}

// row builds the vssubs.BulkRow of a file's record; cell problems stay with the row, to be
// reported with its other problems.
func (rr *rowReader) row(num int, rec []string) vssubs.BulkRow {
	get := func(f string) string {
		if i, ok := rr.cols[f]; ok && i < len(rec) {
			// Not cloned: the cells of a record share one string, which is about the
			// size of what the row keeps, and one allocation instead of nine.
			return cellsafe.Unescape(rec[i])
		}
		return ""
	}
	r := vssubs.BulkRow{Row: num, SubscriberInput: vssubs.SubscriberInput{
		FirstName:         get(vssubs.FieldFirstName),
		LastName:          get(vssubs.FieldLastName),
		Email:             get(vssubs.FieldEmail),
		Reference:         get(vssubs.FieldReference),
		Country:           rr.countries.countryOfCell(get(vssubs.FieldCountry)),
		Language:          languageOfCell(get(vssubs.FieldLanguage)),
		NotificationEmail: get(vssubs.FieldNotificationEmail),
	}}
	level := get(vssubs.FieldLevel)
	r.Level = vssubs.Level(level)
	if l, ok := ParseLevel(level); ok {
		r.Level = l
	}
	if _, split := rr.cols[vssubs.FieldFirstName]; !split {
		first, last, ok := splitName(get(fieldName))
		r.FirstName, r.LastName = first, last
		if !ok {
			r.Problems = append(r.Problems, vssubs.FieldError{Field: fieldName, Reason: "needs a first and a last name, such as \"Ada Lovelace\" or \"Lovelace, Ada\""})
		}
	}
	if on, ok := downloadsOfCell(get(fieldDownloads)); ok {
		r.Downloads = on
	} else {
		r.Problems = append(r.Problems, vssubs.FieldError{Field: fieldDownloads, Reason: "must be Yes or No"})
	}
	return r
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// ReadBulk reads the rows of a bulk file: the header row names the columns (in any
// order), and each later non-blank row is a subscriber numbered as in the file.
//
// Three layouts are read: vssubs's own template (Columns), Microsoft's bulk-add template
// (First Name, Last Name, Sign-in Email, Notification Email, Subscription Level,
// Reference, Downloads, Country, Language, Subscription GUID) and the Microsoft portal's
// CSV export (Subscriber Name, Email, Notification Email Address, Subscription Level,
// Reference, Downloads, Country, Language and status columns, which are ignored).
// Headers match whatever their case, accents, spaces, hyphens or underscores. Cells are
// read as people write them:
//   - a level as Microsoft names it or as a code ("Visual Studio Enterprise",
//     "Enterprise" and "enterprise" are one level);
//   - a language as a code ("fr", "fr-FR") or a name ("French", "Français");
//   - a country as a two-letter code or an English or French name ("Germany", "Allemagne");
//   - a combined name as "Last, First", or else split at its last space ("Mary Ann
//     Smith" is Mary Ann, Smith);
//   - downloads as Yes/No, True/False, Enabled/Disabled, Oui/Non or 1/0.
//
// CSV is read as Excel saves it: the separator (comma, semicolon or tab) is the one the
// header line uses, or the one of a "sep=" first line; a UTF-8 or UTF-16 byte order mark
// is honoured; and a file that is not valid UTF-8 is decoded as Windows-1252, which is
// what Excel's plain "CSV" saves on Windows in western Europe and the Americas.
//
// Reading streams: a file is refused as soon as it passes MaxBulkRows rows. A file that
// cannot be read, has an unknown column or lacks a required one is a
// *vssubs.ValidationError; problems of single cells are reported by BulkAdd, with every
// other bad row.
func ReadBulk(r io.Reader, f Format) ([]vssubs.BulkRow, error) {
	c := &collector{}
	var err error
	switch f {
	case CSV:
		err = readBulkCSV(r, c)
	case XLSX:
		err = readBulkXLSX(r, c)
	default:
		return nil, &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "format", Reason: fmt.Sprintf("unknown bulk format %q", f)}}}
	}
	if err != nil {
		return nil, err
	}
	return c.rows, nil
}

// collector gathers the rows of a file and refuses the row past the limit.
type collector struct{ rows []vssubs.BulkRow }

func (c *collector) add(row vssubs.BulkRow) error {
	if len(c.rows) == vssubs.MaxBulkRows {
		return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "file", Reason: fmt.Sprintf(
			"has more than %s subscribers, from row %d on: split it, a bulk add holds at most %s", english.Thousands(vssubs.MaxBulkRows), row.Row, english.Thousands(vssubs.MaxBulkRows))}}}
	}
	c.rows = append(c.rows, row)
	return nil
}

// expect makes room for about n rows at once: growing the slice row by row would copy
// it again and again, and leave the copies for the garbage collector, which for a full
// bulk add weighs more than the rows themselves.
func (c *collector) expect(n int) {
	c.rows = slices.Grow(c.rows, min(n, vssubs.MaxBulkRows))
}

// sizeOf returns how many bytes r holds when it can tell, as files and in-memory readers
// can, or -1.
func sizeOf(r io.Reader) int64 {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := x.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return -1
}

func readBulkCSV(r io.Reader, c *collector) error {
	size := sizeOf(r)
	src, skipped, comma, head, err := openCSV(r)
	if err != nil {
		return fileError(err)
	}
	if lines := bytes.Count(head, []byte("\n")); size > 0 && lines > 1 {
		c.expect(int(size/int64(len(head)/lines)) + 16)
	}
	cr := csv.NewReader(src)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fileError(err)
	}
	cols, err := readHeader(header)
	if err != nil {
		return err
	}
	rr := &rowReader{cols: cols}
	width := len(header)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fileError(err)
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		row := rr.row(line+skipped, rec)
		if len(rec) > width {
			// An unquoted separator inside a value shifts every later cell: say so rather
			// than report the shifted cells as wrong.
			row.Problems = append(row.Problems, vssubs.FieldError{Field: "row", Reason: fmt.Sprintf("has %d values for %d columns: a value contains a %s", len(rec), width, separatorName(comma))})
		}
		if err := c.add(row); err != nil {
			return err
		}
	}
}

func readBulkXLSX(r io.Reader, c *collector) error {
	book, err := excelize.OpenReader(r)
	if err != nil {
		return fileError(err)
	}
	defer book.Close()
	sheet := Sheet
	if idx, _ := book.GetSheetIndex(sheet); idx < 0 {
		sheet = book.GetSheetName(book.GetActiveSheetIndex())
	}
	it, err := book.Rows(sheet)
	if err != nil {
		return fileError(err)
	}
	defer it.Close()
	var (
		rr  *rowReader
		num int
	)
	for it.Next() {
		num++
		rec, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return fileError(err)
		}
		if rr == nil {
			if blank(rec) {
				continue // a title row or a blank line above the header
			}
			cols, err := readHeader(rec)
			if err != nil {
				return err
			}
			rr = &rowReader{cols: cols}
			continue
		}
		if !blank(rec) {
			if err := c.add(rr.row(num, rec)); err != nil {
				return err
			}
		}
	}
	if rr == nil {
		return fileError(errors.New("the sheet has no header row"))
	}
	return it.Error()
}

func fileError(err error) error {
	return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "file", Reason: err.Error()}}}
}

// WriteOption changes how WriteBulk and WriteTemplate write a file.
type WriteOption func(*writeConfig)

type writeConfig struct{ noBOM bool }

// WithoutBOM leaves out the UTF-8 byte order mark a CSV file starts with. Excel needs
// the mark to read accents right; leave it out for programs that do not expect one.
func WithoutBOM() WriteOption { return func(c *writeConfig) { c.noBOM = true } }

// WriteBulk writes rows as a bulk file: the template's header, then one row each. A CSV
// file starts with a UTF-8 byte order mark, so that Excel reads its accents. In both
// formats, a cell that a spreadsheet would run as a formula (one starting with =, +, -,
// @, a tab or a carriage return) is written after a single quote, as OWASP's
// CSV-injection guidance says; ReadBulk removes that quote, so a file read back gives
// the original text.
func WriteBulk(w io.Writer, f Format, rows []vssubs.SubscriberInput, opts ...WriteOption) error {
	var cfg writeConfig
	for _, o := range opts {
		o(&cfg)
	}
	switch f {
	case CSV:
		if !cfg.noBOM {
			if _, err := w.Write(bomUTF8); err != nil {
				return err
			}
		}
		cw := csv.NewWriter(w)
		_ = cw.Write(Columns())
		for _, in := range rows {
			_ = cw.Write(cells(in))
		}
		cw.Flush()
		return cw.Error()
	case XLSX:
		return writeBulkXLSX(w, rows)
	}
	return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "format", Reason: fmt.Sprintf("unknown bulk format %q", f)}}}
}

// WriteTemplate writes the empty template users fill in for BulkAdd. The .xlsx
// template offers the levels (by the names Microsoft gives them), languages and Yes/No
// as drop-down lists.
func WriteTemplate(w io.Writer, f Format, opts ...WriteOption) error {
	return WriteBulk(w, f, nil, opts...)
}

func writeBulkXLSX(w io.Writer, rows []vssubs.SubscriberInput) error {
	book := excelize.NewFile()
	defer book.Close()
	if err := book.SetSheetName("Sheet1", Sheet); err != nil {
		return err
	}
	bold, err := book.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(Columns()))
	if err := book.SetColWidth(Sheet, "A", last, 22); err != nil {
		return err
	}
	if err := book.SetPanes(Sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := Columns()
	if err := book.SetSheetRow(Sheet, "A1", &header); err != nil {
		return err
	}
	if err := book.SetCellStyle(Sheet, "A1", last+"1", bold); err != nil {
		return err
	}
	for i, in := range rows {
		cs := cells(in)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := book.SetSheetRow(Sheet, cell, &cs); err != nil {
			return err
		}
	}
	if err := addDropDowns(book); err != nil {
		return err
	}
	_, err = book.WriteTo(w)
	return err
}

// addDropDowns offers the valid values of the level, language and downloads columns.
func addDropDowns(book *excelize.File) error {
	levels := make([]string, 0, len(vssubs.Levels()))
	for _, l := range vssubs.Levels() {
		levels = append(levels, LevelName(l))
	}
	lists := map[string][]string{
		vssubs.FieldLevel:    levels,
		vssubs.FieldLanguage: {LanguageName(vssubs.LangEnglish), LanguageName(vssubs.LangFrench)},
		fieldDownloads:       {"Yes", "No"},
	}
	for i, f := range bulkFields() {
		list, ok := lists[f]
		if !ok {
			continue
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s%d", col, col, vssubs.MaxBulkRows+1)
		if err := dv.SetDropList(list); err != nil {
			return err
		}
		if err := book.AddDataValidation(Sheet, dv); err != nil {
			return err
		}
	}
	return nil
}
