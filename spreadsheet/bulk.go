// Package spreadsheet reads and writes the bulk-add files admins work with: the portal's
// spreadsheet template (.xlsx) and CSV, with rows numbered as in the file.
package spreadsheet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	vssubs "github.com/vssubs/vssubs-go"
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

// fieldDownloads is the downloads column's field name in row errors.
const fieldDownloads = "downloads"

// Columns returns the template's column headers, in order.
func Columns() []string {
	return []string{"First name", "Last name", "Email", "Subscription level", "Reference", "Country/region", "Language", "Downloads", "Notification email"}
}

// bulkFields are the field names of Columns, in the same order.
func bulkFields() []string {
	return []string{vssubs.FieldFirstName, vssubs.FieldLastName, vssubs.FieldEmail, vssubs.FieldLevel, vssubs.FieldReference, vssubs.FieldCountry, vssubs.FieldLanguage, fieldDownloads, vssubs.FieldNotificationEmail}
}

// requiredColumn reports whether a file must have the column of field.
func requiredColumn(field string) bool {
	switch field {
	case vssubs.FieldFirstName, vssubs.FieldLastName, vssubs.FieldEmail, vssubs.FieldLevel, vssubs.FieldCountry:
		return true
	}
	return false
}

// cells renders a subscriber as the template's cells.
func cells(in vssubs.SubscriberInput) []string {
	downloads := "No"
	if in.Downloads {
		downloads = "Yes"
	}
	return []string{in.FirstName, in.LastName, in.Email, string(in.Level), in.Reference, in.Country, string(in.Language), downloads, in.NotificationEmail}
}

// columnMap maps a file's header to field names: the column of each known field, found
// by its header text or its field name, ignoring case. Other columns (such as an export's
// status) are ignored, so an export can be edited and added back.
type columnMap map[string]int

func readHeader(header []string) (columnMap, error) {
	byName := map[string]string{}
	for i, f := range bulkFields() {
		byName[strings.ToLower(Columns()[i])] = f
		byName[f] = f
	}
	cols := columnMap{}
	var fe []vssubs.FieldError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		f, ok := byName[h]
		if !ok {
			continue
		}
		if _, dup := cols[f]; dup {
			fe = append(fe, vssubs.FieldError{Field: "header", Reason: fmt.Sprintf("column %q appears twice", header[i])})
		}
		cols[f] = i
	}
	for i, f := range bulkFields() {
		if _, ok := cols[f]; !ok && requiredColumn(f) {
			fe = append(fe, vssubs.FieldError{Field: "header", Reason: fmt.Sprintf("the column %q is missing", Columns()[i])})
		}
	}
	if len(fe) > 0 {
		return nil, &vssubs.ValidationError{Fields: fe}
	}
	return cols, nil
}

// row builds the vssubs.BulkRow of a file's record; cell problems stay with the row, to be
// reported with its other problems.
func (cols columnMap) row(num int, rec []string) vssubs.BulkRow {
	get := func(f string) string {
		if i, ok := cols[f]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	r := vssubs.BulkRow{Row: num, SubscriberInput: vssubs.SubscriberInput{
		FirstName:         get(vssubs.FieldFirstName),
		LastName:          get(vssubs.FieldLastName),
		Email:             get(vssubs.FieldEmail),
		Level:             levelOfCell(get(vssubs.FieldLevel)),
		Reference:         get(vssubs.FieldReference),
		Country:           get(vssubs.FieldCountry),
		Language:          vssubs.Language(get(vssubs.FieldLanguage)),
		NotificationEmail: get(vssubs.FieldNotificationEmail),
	}}
	switch strings.ToLower(get(fieldDownloads)) {
	case "yes", "y", "true", "1", "oui":
		r.Downloads = true
	case "", "no", "n", "false", "0", "non":
	default:
		r.Problems = append(r.Problems, vssubs.FieldError{Field: fieldDownloads, Reason: "must be Yes or No"})
	}
	return r
}

// levelOfCell accepts a level as the template writes it ("enterprise") or as a person
// types it ("Test Professional"); anything else is kept for validation to report.
func levelOfCell(s string) vssubs.Level {
	l := vssubs.Level(strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(s)))
	if l.Valid() {
		return l
	}
	return vssubs.Level(s)
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
// order), and each later non-blank row is a subscriber numbered as in the file. A file
// that cannot be read or lacks a required column is a *vssubs.ValidationError; problems of
// single cells are reported by BulkAdd, with every other bad row.
func ReadBulk(r io.Reader, f Format) ([]vssubs.BulkRow, error) {
	switch f {
	case CSV:
		return readBulkCSV(r)
	case XLSX:
		return readBulkXLSX(r)
	}
	return nil, &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "format", Reason: fmt.Sprintf("unknown bulk format %q", f)}}}
}

func readBulkCSV(r io.Reader) ([]vssubs.BulkRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fileError(err)
	}
	cols, err := readHeader(header)
	if err != nil {
		return nil, err
	}
	width := len(header)
	var rows []vssubs.BulkRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fileError(err)
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		row := cols.row(line, rec)
		if len(rec) > width {
			// An unquoted comma inside a value shifts every later cell: say so rather
			// than report the shifted cells as wrong.
			row.Problems = append(row.Problems, vssubs.FieldError{Field: "row", Reason: fmt.Sprintf("has %d values for %d columns: a value contains a comma", len(rec), width)})
		}
		rows = append(rows, row)
	}
}

func readBulkXLSX(r io.Reader) ([]vssubs.BulkRow, error) {
	book, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fileError(err)
	}
	defer book.Close()
	sheet := Sheet
	if idx, _ := book.GetSheetIndex(sheet); idx < 0 {
		sheet = book.GetSheetName(book.GetActiveSheetIndex())
	}
	it, err := book.Rows(sheet)
	if err != nil {
		return nil, fileError(err)
	}
	defer it.Close()
	var (
		cols columnMap
		rows []vssubs.BulkRow
		num  int
	)
	for it.Next() {
		num++
		rec, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fileError(err)
		}
		if cols == nil {
			if cols, err = readHeader(rec); err != nil {
				return nil, err
			}
			continue
		}
		if !blank(rec) {
			rows = append(rows, cols.row(num, rec))
		}
	}
	if cols == nil {
		return nil, fileError(errors.New("the sheet has no header row"))
	}
	return rows, it.Error()
}

func fileError(err error) error {
	return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: "file", Reason: err.Error()}}}
}

// WriteBulk writes rows as a bulk file: the template's header, then one row each.
func WriteBulk(w io.Writer, f Format, rows []vssubs.SubscriberInput) error {
	switch f {
	case CSV:
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
// template offers the levels, languages and Yes/No as drop-down lists.
func WriteTemplate(w io.Writer, f Format) error { return WriteBulk(w, f, nil) }

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
		levels = append(levels, string(l))
	}
	lists := map[string][]string{
		vssubs.FieldLevel:    levels,
		vssubs.FieldLanguage: {string(vssubs.LangEnglish), string(vssubs.LangFrench)},
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
