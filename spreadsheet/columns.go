package spreadsheet

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	vssubs "github.com/vssubs/vssubs-go"
)

// Field names of the columns that are not a SubscriberInput field of their own.
const (
	fieldDownloads = "downloads"
	// fieldName is a combined "Subscriber Name" column, split into first and last names.
	fieldName = "name"
	// fieldIgnored marks a known column that carries nothing to add, such as an
	// export's status or the template's empty Subscription GUID.
	fieldIgnored = "-"
)

// headerAliases maps each field to the headers it is recognized by, compared after
// normalizeHeader: vssubs's own template, Microsoft's bulk-add template, the Microsoft
// portal's CSV export, and the field names themselves. The first alias of each field is
// the name printed when a column is missing.
func headerAliases() [][2]string {
	return [][2]string{
		{vssubs.FieldFirstName, "First name"}, {vssubs.FieldFirstName, "first_name"}, {vssubs.FieldFirstName, "Firstname"}, {vssubs.FieldFirstName, "Given name"}, {vssubs.FieldFirstName, "Prénom"},
		{vssubs.FieldLastName, "Last name"}, {vssubs.FieldLastName, "last_name"}, {vssubs.FieldLastName, "Lastname"}, {vssubs.FieldLastName, "Surname"}, {vssubs.FieldLastName, "Family name"}, {vssubs.FieldLastName, "Nom"},
		{fieldName, "Name"}, {fieldName, "Subscriber name"}, {fieldName, "Full name"}, {fieldName, "Display name"},
		{vssubs.FieldEmail, "Email"}, {vssubs.FieldEmail, "Sign-in email"}, {vssubs.FieldEmail, "Sign-in email address"}, {vssubs.FieldEmail, "Signin email"}, {vssubs.FieldEmail, "Email address"}, {vssubs.FieldEmail, "E-mail"}, {vssubs.FieldEmail, "Courriel"},
		{vssubs.FieldNotificationEmail, "Notification email"}, {vssubs.FieldNotificationEmail, "notification_email"}, {vssubs.FieldNotificationEmail, "Notification email address"},
		{vssubs.FieldLevel, "Subscription level"}, {vssubs.FieldLevel, "Level"}, {vssubs.FieldLevel, "Subscription"}, {vssubs.FieldLevel, "Niveau d'abonnement"},
		{vssubs.FieldReference, "Reference"}, {vssubs.FieldReference, "Référence"},
		{fieldDownloads, "Downloads"}, {fieldDownloads, "Download"}, {fieldDownloads, "Téléchargements"},
		{vssubs.FieldCountry, "Country/region"}, {vssubs.FieldCountry, "Country"}, {vssubs.FieldCountry, "Country or region"}, {vssubs.FieldCountry, "Region"}, {vssubs.FieldCountry, "Pays"}, {vssubs.FieldCountry, "Pays/région"},
		{vssubs.FieldLanguage, "Language"}, {vssubs.FieldLanguage, "Langue"},
		// Read and dropped: what an export or the template holds besides the subscriber.
		{fieldIgnored, "Subscription GUID"}, {fieldIgnored, "Microsoft Entra group"}, {fieldIgnored, "Azure AD group"},
		{fieldIgnored, "Assigned"}, {fieldIgnored, "Activated"}, {fieldIgnored, "Expiration date (UTC)"},
		{fieldIgnored, "Subscription status"}, {fieldIgnored, "Usage status"}, {fieldIgnored, "Error message"},
		{fieldIgnored, "Status"}, {fieldIgnored, "Assigned at"}, {fieldIgnored, "ID"},
	}
}

// normalizeHeader folds the ways people write one header: case, accents, spaces,
// hyphens and underscores, and the BOM a file may start with.
func normalizeHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	h = strings.NewReplacer("_", " ", "-", " ").Replace(fold(h))
	return strings.Join(strings.Fields(h), " ")
}

// fold lower-cases s and removes its accents, so "Prénom" and "prenom" compare equal.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// columnMap maps field names to their column in a file.
type columnMap map[string]int

// readHeader finds the column of each field in a file's header row. A header that is no
// known column is an error naming it and the expected ones, since a misspelt
// "Downlaods" would otherwise drop every row's downloads silently; missing required
// columns are one error naming them all.
func readHeader(header []string) (columnMap, error) {
	byHeader := map[string]string{}
	for _, a := range headerAliases() {
		byHeader[normalizeHeader(a[1])] = a[0]
	}
	cols := columnMap{}
	var fe []vssubs.FieldError
	for i, h := range header {
		n := normalizeHeader(h)
		if n == "" {
			continue // Excel saves the empty cells right of a table as empty headers.
		}
		f, ok := byHeader[n]
		switch {
		case !ok:
			reason := fmt.Sprintf("unknown column %q", strings.TrimSpace(h))
			if near := nearestHeader(n); near != "" {
				reason += fmt.Sprintf(" (did you mean %q?)", near)
			}
			fe = append(fe, vssubs.FieldError{Field: "header", Reason: reason + "; the columns read are " + strings.Join(expectedHeaders(), ", ")})
		case f == fieldIgnored:
		default:
			if _, dup := cols[f]; dup {
				fe = append(fe, vssubs.FieldError{Field: "header", Reason: fmt.Sprintf("column %q appears twice", strings.TrimSpace(h))})
			}
			cols[f] = i
		}
	}
	if missing := cols.missing(); len(missing) > 0 {
		fe = append(fe, vssubs.FieldError{Field: "header", Reason: missingReason(missing)})
	}
	if len(fe) > 0 {
		return nil, &vssubs.ValidationError{Fields: fe}
	}
	return cols, nil
}

// missing names the required columns the map lacks: email, level, country, and either
// first and last names or one combined name.
func (cols columnMap) missing() []string {
	var out []string
	_, first := cols[vssubs.FieldFirstName]
	_, last := cols[vssubs.FieldLastName]
	if _, name := cols[fieldName]; !name || first != last {
		if !first {
			out = append(out, "First name")
		}
		if !last {
			out = append(out, "Last name")
		}
		if !first && !last {
			out[len(out)-1] += " (or one Name column)"
		}
	}
	for _, f := range [][2]string{{vssubs.FieldEmail, "Email"}, {vssubs.FieldLevel, "Subscription level"}, {vssubs.FieldCountry, "Country/region"}} {
		if _, ok := cols[f[0]]; !ok {
			out = append(out, f[1])
		}
	}
	return out
}

func missingReason(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("the column %q is missing", names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("the columns %s and %s are missing", strings.Join(quoted[:len(quoted)-1], ", "), quoted[len(quoted)-1])
}

// expectedHeaders are the columns a file may have, one name per field.
func expectedHeaders() []string {
	return []string{"First name", "Last name", "Name (instead of first and last)", "Email (or Sign-in email)", "Notification email",
		"Subscription level", "Reference", "Downloads", "Country/region", "Language", "and the export's other columns"}
}

// nearestHeader returns the known header closest to a misspelt one, or "" when none is close.
func nearestHeader(n string) string {
	best, dist := "", 3 // more than two edits away is not a typo
	for _, a := range headerAliases() {
		if d := editDistance(n, normalizeHeader(a[1])); d < dist {
			best, dist = a[1], d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps of neighbours
// (optimal string alignment) that turn a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// LevelName returns a level as Microsoft writes it, such as "Visual Studio Enterprise";
// the template's cells and drop-downs show these names.
func LevelName(l vssubs.Level) string {
	switch l {
	case vssubs.LevelEnterprise:
		return "Visual Studio Enterprise"
	case vssubs.LevelEnterpriseGitHub:
		return "Visual Studio Enterprise with GitHub Enterprise"
	case vssubs.LevelProfessional:
		return "Visual Studio Professional"
	case vssubs.LevelTestProfessional:
		return "Visual Studio Test Professional"
	case vssubs.LevelMSDNPlatforms:
		return "MSDN Platforms"
	}
	return string(l)
}

// ParseLevel reads a level written as Microsoft writes it ("Visual Studio Enterprise",
// with or without "Visual Studio" and "subscription"), or as a code ("enterprise",
// "test_professional"), ignoring case. It reports false for anything else.
func ParseLevel(s string) (vssubs.Level, bool) {
	for _, l := range vssubs.Levels() {
		if s == string(l) || s == LevelName(l) {
			return l, true // what files hold nearly always
		}
	}
	key := levelKey(s)
	for _, l := range vssubs.Levels() {
		if key == levelKey(string(l)) || key == levelKey(LevelName(l)) {
			return l, true
		}
	}
	if key == "enterprise with github" || key == "enterprise and github enterprise" {
		return vssubs.LevelEnterpriseGitHub, true
	}
	return "", false
}

// levelKey drops what varies between the ways a level is written.
func levelKey(s string) string {
	words := strings.Fields(strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(s)))
	words = slices.DeleteFunc(words, func(w string) bool { return w == "subscription" || w == "subscriptions" })
	if len(words) >= 2 && words[0] == "visual" && words[1] == "studio" {
		words = words[2:]
	}
	return strings.Join(words, " ")
}

// languageOfCell reads a language as a code ("fr", "fr-FR") or a name in English or
// French ("French", "Français"); anything else is kept for validation to report.
func languageOfCell(s string) vssubs.Language {
	switch fold(strings.TrimSpace(s)) {
	case "":
		return ""
	case "english", "anglais":
		return vssubs.LangEnglish
	case "french", "francais":
		return vssubs.LangFrench
	}
	if tag, err := language.Parse(strings.TrimSpace(s)); err == nil {
		if base, conf := tag.Base(); conf == language.Exact {
			return vssubs.Language(base.String())
		}
	}
	return vssubs.Language(s)
}

// LanguageName returns the name the template writes for a language code: "English" or
// "French"; other values are returned as they are.
func LanguageName(code vssubs.Language) string {
	switch code {
	case vssubs.LangEnglish:
		return "English"
	case vssubs.LangFrench:
		return "French"
	}
	return string(code)
}

// countries resolves country names to ISO 3166 codes. It is built on the first name a
// file uses, since most files hold codes.
type countries map[string]string

// countryOfCell reads a country as a two-letter code or as its English or French name
// ("France", "United States", "Allemagne"); anything else is kept for validation.
func (c *countries) countryOfCell(s string) string {
	t := strings.TrimSpace(s)
	if len(t) == 2 || t == "" {
		return s
	}
	if *c == nil {
		*c = countryNames()
	}
	if code, ok := (*c)[normalizeHeader(t)]; ok {
		return code
	}
	return s
}

func countryNames() countries {
	names := countries{
		"usa": "US", "united states of america": "US", "uk": "GB", "great britain": "GB", "england": "GB",
	}
	en, fr := display.Regions(language.English), display.Regions(language.French)
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.String() != code || r.Canonicalize() != r {
				continue
			}
			for _, n := range []string{en.Name(r), fr.Name(r)} {
				// The first code of a name is the current one: FR before FX, GB before UK.
				if _, taken := names[normalizeHeader(n)]; n != "" && !taken {
					names[normalizeHeader(n)] = code
				}
			}
		}
	}
	return names
}

// downloadsOfCell reads a downloads cell: yes or no in English or French, true or false,
// enabled or disabled (as the portal's export writes it), 1 or 0, or empty for no.
func downloadsOfCell(s string) (on, ok bool) {
	switch fold(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "oui", "enabled", "on":
		return true, true
	case "", "no", "n", "false", "0", "non", "disabled", "off":
		return false, true
	}
	return false, false
}

// splitName splits a combined name: "Last, First" at its comma, otherwise at its last
// space, so the last word is the last name ("Mary Ann Smith" is Mary Ann, Smith). A
// one-word name is a problem of its row: the portal needs both names.
func splitName(s string) (first, last string, ok bool) {
	s = strings.TrimSpace(s)
	if l, f, found := strings.Cut(s, ","); found {
		return strings.TrimSpace(f), strings.TrimSpace(l), strings.TrimSpace(f) != "" && strings.TrimSpace(l) != ""
	}
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, "", s == ""
	}
	return strings.TrimSpace(s[:i]), s[i+1:], true
}
