package vssubs

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/vssubs/vssubs-go/internal/cellsafe"
)

// exportColumns is the header of an export: the bulk template's columns, then the
// subscription's status, when its seat was assigned, and its id. An export read back with
// spreadsheet.ReadBulk ignores the last three.
func exportColumns() []string {
	return []string{"First name", "Last name", "Email", "Subscription level", "Reference", "Country/region", "Language", "Downloads", "Notification email", "Status", "Assigned at", "ID"}
}

// exportCells renders a subscriber as an export's cells, in exportColumns' order, each
// neutralized so that a spreadsheet never runs it as a formula.
func exportCells(sub Subscriber) []string {
	in := sub.SubscriberInput
	downloads := "No"
	if in.Downloads {
		downloads = "Yes"
	}
	cells := []string{in.FirstName, in.LastName, in.Email, string(in.Level), in.Reference, in.Country, string(in.Language), downloads, in.NotificationEmail,
		string(sub.Status), sub.AssignedAt.UTC().Format(time.RFC3339), sub.ID}
	for i, c := range cells {
		cells[i] = cellsafe.Escape(c)
	}
	return cells
}

// ExportFileName is the conventional name of an export: the agreement's license number
// (Agreement.LicenseNumber, or Order.LicenseNumber) and the day, such as
// subscribers_L123456789_2026-11-23.csv. Export leaves naming the file to the caller, who
// usually knows the license number already.
func ExportFileName(licenseNumber string, day time.Time) string {
	return fmt.Sprintf("subscribers_%s_%s.csv", NormalizeNumber(licenseNumber), day.Format(time.DateOnly))
}

// ExportOptions chooses the subscribers an export writes and the shape of its file.
type ExportOptions struct {
	Filter SubscriberFilter
	// OmitBOM leaves out the UTF-8 byte order mark the file starts with; Excel needs
	// the mark to show accents right, some other programs do not expect it.
	OmitBOM bool
}

// Export writes the agreement's subscribers matching o.Filter to w as CSV, page by page,
// and returns how many rows it wrote. It sends only the listing of Subscribers.List, so a
// mocked portal answers it with ListSubscribers alone; ExportFileName gives the file its
// conventional name. The file starts with a UTF-8 byte order mark, and a cell that a
// spreadsheet would run as a formula (one starting with =, +, -, @, a tab or a carriage
// return) is written after a single quote, as OWASP's CSV-injection guidance says;
// spreadsheet.ReadBulk removes the quote again. On an error, w may hold the rows written
// before it.
func (s *SubscribersService) Export(ctx context.Context, agreementID string, w io.Writer, o ExportOptions) (int, error) {
	// The mark and the header stay in bw's buffer until a row follows or the listing
	// ends, so a call that fails at once (a bad id, no access) writes nothing to w.
	bw := bufio.NewWriter(w)
	if !o.OmitBOM {
		_, _ = bw.WriteString("\ufeff")
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(exportColumns()); err != nil {
		return 0, err
	}
	flush := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return bw.Flush()
	}
	rows := 0
	for sub, err := range s.List(ctx, agreementID, o.Filter) {
		if err != nil {
			if rows > 0 {
				_ = flush()
			}
			return rows, err
		}
		if err := cw.Write(exportCells(sub)); err != nil {
			return rows, err
		}
		rows++
	}
	return rows, flush()
}
