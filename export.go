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
	return []string{in.FirstName, in.LastName, in.Email, string(in.Level), in.Reference, in.Country, in.Language, downloads, in.NotificationEmail,
		string(sub.Status), sub.AssignedAt.UTC().Format(time.RFC3339), sub.ID}
}

// ExportFileName is the conventional name of an export: the agreement's license number
// and the day, such as subscribers_L123456789_2026-11-23.csv.
func ExportFileName(licenseNumber string, day time.Time) string {
	return fmt.Sprintf("subscribers_%s_%s.csv", NormalizeNumber(licenseNumber), day.Format(time.DateOnly))
}

// ExportResult tells what an export wrote and the file name to save it under.
type ExportResult struct {
	FileName string
	Rows     int
}

// Export writes the agreement's subscribers matching f to w as CSV, page by page, and
// returns the conventional file name (from the license number and today's date) and the
// number of rows written. On an error, w may hold the rows written before it.
func (s *SubscribersService) Export(ctx context.Context, agreementID string, w io.Writer, f SubscriberFilter) (*ExportResult, error) {
	a, err := s.client.Agreements.Get(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{FileName: ExportFileName(a.LicenseNumber, time.Now())}
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns()); err != nil {
		return nil, err
	}
	for sub, err := range s.List(ctx, agreementID, f) {
		if err != nil {
			cw.Flush()
			return res, err
		}
		if err := cw.Write(exportCells(sub)); err != nil {
			return res, err
		}
		res.Rows++
	}
	cw.Flush()
	return res, cw.Error()
}
