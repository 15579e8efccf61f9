package vssubs

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// ExportColumns returns the header of an export: the bulk template's columns, then the
// subscription's status, when its seat was assigned, and its id. An export read back with
// spreadsheet.ReadBulk ignores the last three.
func ExportColumns() []string {
	return []string{"First name", "Last name", "Email", "Subscription level", "Reference", "Country/region", "Language", "Downloads", "Notification email", "Status", "Assigned at", "ID"}
}

// exportCells renders a subscriber as an export's cells, in ExportColumns' order.
func exportCells(sub Subscriber) []string {
	in := sub.SubscriberInput
	downloads := "No"
	if in.Downloads {
		downloads = "Yes"
	}
	return []string{in.FirstName, in.LastName, in.Email, string(in.Level), in.Reference, in.Country, string(in.Language), downloads, in.NotificationEmail,
		string(sub.Status), sub.AssignedAt.UTC().Format(time.RFC3339), sub.ID}
}

// ExportFileName is the conventional name of an export: the agreement's license number
// (Agreement.LicenseNumber, or Order.LicenseNumber) and the day, such as
// subscribers_L123456789_2026-11-23.csv. Export leaves naming the file to the caller, who
// usually knows the license number already.
func ExportFileName(licenseNumber string, day time.Time) string {
	return fmt.Sprintf("subscribers_%s_%s.csv", NormalizeNumber(licenseNumber), day.Format(time.DateOnly))
}

// Export writes the agreement's subscribers matching f to w as CSV, page by page, and
// returns how many rows it wrote. It sends only the listing of Subscribers.List, so a
// mocked portal answers it with ListSubscribers alone; ExportFileName gives the file its
// conventional name. On an error, w may hold the rows written before it.
func (s *SubscribersService) Export(ctx context.Context, agreementID string, w io.Writer, f SubscriberFilter) (int, error) {
	cw := csv.NewWriter(w)
	// The header stays in cw's buffer until a row follows or the listing ends, so a
	// call that fails at once (a bad id, no access) writes nothing to w.
	if err := cw.Write(ExportColumns()); err != nil {
		return 0, err
	}
	rows := 0
	for sub, err := range s.List(ctx, agreementID, f) {
		if err != nil {
			if rows > 0 {
				cw.Flush()
			}
			return rows, err
		}
		if err := cw.Write(exportCells(sub)); err != nil {
			return rows, err
		}
		rows++
	}
	cw.Flush()
	return rows, cw.Error()
}
