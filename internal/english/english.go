// Package english writes the counts and articles of the messages people read, so that
// "1 subscriber", "3 problems" and "an enterprise seat" come out right everywhere.
package english

import (
	"strconv"
	"strings"
)

// Count writes n and the noun, plural unless n is 1, with thousands separated by
// commas: "1 subscriber", "3,000 rows". Nouns ending in s, x or sh take -es.
func Count(n int, noun string) string {
	return Thousands(n) + " " + Plural(n, noun)
}

// Plural returns noun as it goes after the count n.
func Plural(n int, noun string) string {
	if n == 1 || n == -1 {
		return noun
	}
	for _, end := range []string{"s", "x", "sh", "ch"} {
		if strings.HasSuffix(noun, end) {
			return noun + "es"
		}
	}
	return noun + "s"
}

// Thousands writes n with a comma between each group of three digits: 100,000.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// Article returns "a" or "an" for the word it goes before, by its first letter's sound
// as far as spelling tells: "an enterprise seat", "a professional seat".
func Article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
