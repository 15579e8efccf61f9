// Package wire holds the JSON bodies that the client and the portal exchange and that no
// user of either needs to name: the error shape, list pages and the bulk and removal
// requests. Both sides encode and decode these same types, so they cannot drift.
package wire

import "time"

// FieldError names one bad input field and why it was refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ErrorBody is the one JSON shape of every failure the portal answers.
type ErrorBody struct {
	Code              string       `json:"code"`
	Message           string       `json:"message"`
	Fields            []FieldError `json:"fields,omitempty"`
	RequestID         string       `json:"request_id,omitempty"`
	RetryAfterSeconds int          `json:"retry_after_seconds,omitempty"`
	// Details carries code-specific facts (the level and counts of a capacity error,
	// the date a reassignment becomes possible), as strings so the shape stays flat.
	Details map[string]string `json:"details,omitempty"`
}

// CeilSeconds rounds a wait up to whole seconds, the unit of Retry-After, so that a short
// wait never reads as "no wait".
func CeilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	// Not (d + time.Second - 1) / time.Second: that overflows for the longest waits
	// (FuzzParseErrorBody's seed of a huge retry_after_seconds found it).
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int(s)
}

// Page is one page of a list answer: its items and the opaque cursor of the next page,
// empty on the last one.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// BulkStartRequest opens a bulk session: how many rows, in how many chunks, will follow.
type BulkStartRequest struct {
	Total  int `json:"total"`
	Chunks int `json:"chunks"`
}

// BulkChunk is the body of one chunk of rows.
type BulkChunk[Row any] struct {
	Rows []Row `json:"rows"`
}

// RemoveRequest is the body of one removal batch.
type RemoveRequest struct {
	IDs []string `json:"ids"`
}

// RemoveResult is the portal's answer to one removal batch.
type RemoveResult struct {
	Removed int `json:"removed"`
}
