// Package cellsafe keeps exported cells from running as formulas when a spreadsheet opens
// them, as OWASP's CSV-injection guidance says, and undoes it when a file is read back.
// The client's CSV export and package spreadsheet share it, so every export path agrees.
package cellsafe

import "strings"

// Excel starts a formula at any of these; a tab or carriage return lets one hide behind
// whitespace that Excel trims.
const triggers = "=+-@\t\r"

// Escape prefixes s with a single quote when a spreadsheet would read it as a formula.
// A value that already starts with quotes before a trigger gets one more quote, so that
// Unescape gives back exactly s.
func Escape(s string) string {
	if startsFormula(strings.TrimLeft(s, "'")) {
		return "'" + s
	}
	return s
}

// Unescape removes the quote Escape added, and leaves every other value alone.
func Unescape(s string) string {
	if strings.HasPrefix(s, "'") && startsFormula(strings.TrimLeft(s, "'")) {
		return s[1:]
	}
	return s
}

func startsFormula(s string) bool { return s != "" && strings.IndexByte(triggers, s[0]) >= 0 }
