package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// field is one labelled value of a single result, printed as a row of a two-column table.
type field struct {
	label string
	value any
}

// emit prints one result: v as JSON with --json, else the labelled fields as a table.
func (s *session) emit(v any, fields ...field) error {
	if s.json {
		return writeJSON(s.stdout, v)
	}
	tw := newTable(s.stdout)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\n", f.label, cell(f.value))
	}
	return tw.Flush()
}

// done prints the outcome of an operation that returns nothing.
func (s *session) done(msg string, v any) error {
	if s.json {
		return writeJSON(s.stdout, v)
	}
	_, err := fmt.Fprintln(s.stdout, msg)
	return err
}

// writeJSON writes v indented, with &, < and > as they are: the output is read by
// scripts, not embedded in HTML.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// tableFlushRows bounds how many rows the table buffers, so a list of any length streams;
// columns are aligned within each block.
const tableFlushRows = 500

// emitList streams a list: a JSON array with --json, else a table with a header row. It
// holds one row at a time, never the whole list. The header is written with the first
// row or once the list ended well, so a list that fails at once prints nothing on stdout.
func emitList[T any](s *session, seq iter.Seq2[T, error], header []string, row func(T) []any) error {
	if s.json {
		return streamJSONArray(s.stdout, seq)
	}
	tw := newTable(s.stdout)
	n := 0
	for v, err := range seq {
		if err != nil {
			_ = tw.Flush()
			return err
		}
		if n == 0 {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
		}
		cells := row(v)
		strs := make([]string, len(cells))
		for i, c := range cells {
			strs[i] = cell(c)
		}
		fmt.Fprintln(tw, strings.Join(strs, "\t"))
		if n++; n%tableFlushRows == 0 {
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	return tw.Flush()
}

func streamJSONArray[T any](w io.Writer, seq iter.Seq2[T, error]) error {
	sep := "[\n  "
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	for v, err := range seq {
		if err != nil {
			if sep != "[\n  " {
				fmt.Fprintln(w, "\n]")
			}
			return err
		}
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
			return err
		}
		sep = ",\n  "
	}
	if sep == "[\n  " {
		_, err := fmt.Fprintln(w, "[]")
		return err
	}
	_, err := fmt.Fprintln(w, "\n]")
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// cell renders a value for a table: times in UTC to the second, empty values as "-".
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return "-"
		}
		s = x.UTC().Format(time.RFC3339)
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprint(x)
	}
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
