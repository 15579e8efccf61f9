package cli

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cmdline"
	"github.com/vssubs/vssubs-go/internal/english"
	"github.com/vssubs/vssubs-go/internal/errorbody"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// Exit codes: scripts branch on these, so they never change meaning.
// The first three are those of every vssubs program (package cmdline).
const (
	// ExitOK: the operation succeeded.
	ExitOK = cmdline.ExitOK
	// ExitFailure: anything not listed below, such as a network failure or a portal error.
	ExitFailure = cmdline.ExitFailure
	// ExitUsage: a mistake on the command line (no arguments, an unknown or missing flag,
	// a file that is not there), or missing configuration.
	ExitUsage = cmdline.ExitUsage
	// ExitValidation: the input was refused as invalid; every bad field is printed.
	ExitValidation = 3
	// ExitAuth: not signed in, not recognized, or not allowed (including removed access).
	ExitAuth = 4
	// ExitNotFound: the agreement, order, subscriber or admin does not exist for the caller.
	ExitNotFound = 5
	// ExitConflict: a business rule refused the operation (already registered, no
	// matching license, capacity, 90-day reassignment, last super admins, duplicates).
	ExitConflict = 6
	// ExitRetryLater: locked out, rate limited or unavailable; retry after the printed wait.
	ExitRetryLater = 7
)

const exitCodeHelp = `
Exit codes:
  0  success
  1  other failure (network, portal internal error)
  2  usage: no arguments, bad or missing flags or arguments, a missing file, missing configuration
  3  validation: the input was refused; every bad field is printed
  4  auth: not signed in, not recognized, forbidden, access removed, not the Primary Contact
  5  not found
  6  conflict: a business rule refused the operation
  7  retry later: locked out, rate limited or unavailable
`

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, vssubs.ErrValidation), errors.Is(err, vssubs.ErrTermsNotAccepted):
		return ExitValidation
	case errors.Is(err, vssubs.ErrUnauthorized), errors.Is(err, vssubs.ErrNotRecognized),
		errors.Is(err, vssubs.ErrForbidden), errors.Is(err, vssubs.ErrAccessRemoved),
		errors.Is(err, vssubs.ErrNotPrimaryContact):
		return ExitAuth
	case errors.Is(err, vssubs.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, vssubs.ErrConflict), errors.Is(err, vssubs.ErrAlreadyRegistered),
		errors.Is(err, vssubs.ErrNoMatchingLicense), errors.Is(err, vssubs.ErrCapacityExceeded),
		errors.Is(err, vssubs.ErrReassignTooSoon), errors.Is(err, vssubs.ErrLastSuperAdmin),
		errors.Is(err, vssubs.ErrIdempotencyKeyReused):
		return ExitConflict
	case errors.Is(err, vssubs.ErrLockedOut), errors.Is(err, vssubs.ErrRateLimited),
		errors.Is(err, vssubs.ErrUnavailable):
		return ExitRetryLater
	}
	return ExitFailure
}

// errorReport is the JSON the tool writes to stderr on failure with --json.
type errorReport struct {
	Error wire.ErrorBody `json:"error"`
	// Rows lists every bad row of a refused bulk add.
	Rows     []vssubs.RowError `json:"rows,omitempty"`
	ExitCode int               `json:"exit_code"`
}

// fail prints err on stderr, as JSON with --json, and returns its exit code.
func (s *session) fail(err error, path string) int {
	code := exitCode(err)
	var ue *usageError
	if errors.As(err, &ue) && !s.json {
		fmt.Fprintf(s.stderr, "%s: %s\n", path, ue.msg)
		if ue.cmd != nil {
			fmt.Fprintln(s.stderr)
			s.usage(s.stderr, ue.cmd, path)
		} else {
			fmt.Fprintf(s.stderr, "Run '%s -h' for its flags.\n", path)
		}
		return code
	}
	body := errorBody(err)
	var be *vssubs.BulkError
	if errors.As(err, &be) && !s.json {
		s.printBulkRefusal(be, path)
		return code
	}
	if s.json {
		rep := errorReport{Error: body, ExitCode: code}
		if errors.As(err, &be) {
			rep.Rows = be.Rows
		}
		_ = writeJSON(s.stderr, rep)
		return code
	}
	fmt.Fprintf(s.stderr, "%s: %s\n", path, unprefixed(body.Message))
	for _, f := range body.Fields {
		fmt.Fprintf(s.stderr, "  %s: %s\n", f.Field, f.Reason)
	}
	for _, k := range sortedKeys(body.Details) {
		fmt.Fprintf(s.stderr, "  %s = %s\n", k, body.Details[k])
	}
	if body.RetryAfterSeconds > 0 {
		fmt.Fprintf(s.stderr, "  retry after %s\n", time.Duration(body.RetryAfterSeconds)*time.Second)
	}
	if body.Code != "" {
		fmt.Fprintf(s.stderr, "  code %s", body.Code)
		if body.RequestID != "" {
			fmt.Fprintf(s.stderr, ", request %s", body.RequestID)
		}
		fmt.Fprintln(s.stderr)
	}
	return code
}

// errorBody gives every failure the portal's one error shape, so scripts parse one thing.
func errorBody(err error) wire.ErrorBody {
	var ae *vssubs.APIError
	var ve *vssubs.ValidationError
	var be *vssubs.BulkError
	var ue *usageError
	switch {
	case errors.As(err, &be):
		// Rows are named as the user sees them in the file: row 7, email.
		b := wire.ErrorBody{Code: string(vssubs.CodeValidation), Message: "bulk add refused, nothing was added: " + english.Count(len(be.Rows), "problem")}
		if be.API != nil {
			b.RequestID = be.API.RequestID
		}
		for _, r := range be.Rows {
			b.Fields = append(b.Fields, wire.FieldError{Field: fmt.Sprintf("row %d, %s", r.Row, r.Field), Reason: r.Reason})
		}
		return b
	case errors.As(err, &ae):
		return errorbody.Of(ae)
	case errors.As(err, &ve):
		return wire.ErrorBody{Code: string(vssubs.CodeValidation), Message: "invalid input", Fields: errorbody.Fields(ve.Fields)}
	case errors.As(err, &ue):
		return wire.ErrorBody{Code: "usage", Message: ue.msg}
	}
	return wire.ErrorBody{Message: unprefixed(err.Error())}
}

// unprefixed drops the "vssubs: " that the library's errors start with, and that wrapped
// errors repeat, since the tool already names itself in front of every message.
func unprefixed(msg string) string { return strings.ReplaceAll(msg, "vssubs: ", "") }

// printBulkRefusal prints a refused bulk add for a person: the first s.maxErrors row
// problems, then how many rows were refused, grouped by reason, biggest group first.
func (s *session) printBulkRefusal(be *vssubs.BulkError, path string) {
	w := s.stderr
	rows := map[int]bool{}
	for _, r := range be.Rows {
		rows[r.Row] = true
	}
	fmt.Fprintf(w, "%s: bulk add refused, nothing was added: %s in %s\n", path, english.Count(len(be.Rows), "problem"), english.Count(len(rows), "row"))
	limit := s.maxErrors
	if limit <= 0 {
		limit = defaultMaxErrors
	}
	for i, r := range be.Rows {
		if i == limit {
			rest := len(be.Rows) - i
			fmt.Fprintf(w, "  ... and %s more %s (--max-errors shows more, --json every one)\n", english.Thousands(rest), english.Plural(rest, "problem"))
			break
		}
		fmt.Fprintf(w, "  row %d, %s: %s\n", r.Row, r.Field, r.Reason)
	}
	rowNumber := regexp.MustCompile(`\brow \d+`)
	type group struct {
		reason string
		n      int
	}
	var groups []group
	index := map[string]int{}
	for _, r := range be.Rows {
		// "is already on row 12 of this batch" and "... row 40 ..." are one reason.
		reason := r.Field + ": " + rowNumber.ReplaceAllString(r.Reason, "another row")
		if i, ok := index[reason]; ok {
			groups[i].n++
			continue
		}
		index[reason] = len(groups)
		groups = append(groups, group{reason, 1})
	}
	slices.SortStableFunc(groups, func(a, b group) int { return b.n - a.n })
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = english.Thousands(g.n) + " × " + g.reason
	}
	fmt.Fprintf(w, "%s refused: %s\n", english.Count(len(rows), "row"), strings.Join(parts, "; "))
	if be.API != nil && be.API.RequestID != "" {
		fmt.Fprintf(w, "  code %s, request %s\n", vssubs.CodeValidation, be.API.RequestID)
	}
}

// defaultMaxErrors is how many row problems a refused bulk add prints by default.
const defaultMaxErrors = 20
