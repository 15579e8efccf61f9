package spreadsheet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// sniffSize is how much of a CSV file is looked at to tell its encoding and separator:
// enough for any header line and the first rows, and small next to the file.
const sniffSize = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// openCSV returns the file's text as UTF-8, how many lines were consumed before the
// header (a "sep=" line), the separator, and the file's first bytes as they are. It
// reads no more than sniffSize ahead.
func openCSV(r io.Reader) (text io.Reader, skipped int, sep rune, head []byte, err error) {
	br := bufio.NewReaderSize(r, sniffSize)
	head, err = br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, 0, nil, err
	}
	head = bytes.Clone(head)
	text = br
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		_, _ = br.Discard(len(bomUTF8))
	case bytes.HasPrefix(head, bomUTF16LE), bytes.HasPrefix(head, bomUTF16BE):
		// Excel's "Unicode Text" is UTF-16 with a byte order mark, tab-separated.
		text = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case !validUTF8Prefix(head, len(head) == sniffSize):
		text = transform.NewReader(br, charmap.Windows1252.NewDecoder())
	}
	tr := bufio.NewReaderSize(text, sniffSize)
	first, err := tr.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, 0, nil, err
	}
	line, _, _ := bytes.Cut(first, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	// Excel honours a first line "sep=;" and so do we.
	if rest, ok := bytes.CutPrefix(bytes.ToLower(line), []byte("sep=")); ok && utf8.RuneCount(rest) == 1 {
		sep, _ := utf8.DecodeRune(rest)
		if _, err := tr.ReadBytes('\n'); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, 0, nil, err
		}
		return tr, 1, sep, head, nil
	}
	return tr, 0, detectSeparator(line), head, nil
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut at its end when b is
// only the first part of the file.
func validUTF8Prefix(b []byte, truncated bool) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return truncated && !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}

// detectSeparator picks the separator a header line uses most, outside quotes: a comma,
// a semicolon (Excel where the comma is the decimal mark, as in French) or a tab.
// A line with none, such as a one-column file, is comma-separated.
func detectSeparator(line []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

func separatorName(r rune) string {
	switch r {
	case ';':
		return "semicolon"
	case '\t':
		return "tab"
	case ',':
		return "comma"
	}
	return string(r)
}
