package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/text/language"

	vssubs "github.com/vssubs/vssubs-go"
)

// languages are those the UI is written in, the notifications' languages; the first is
// the fallback.
var languages = []string{string(vssubs.LangEnglish), string(vssubs.LangFrench)}

// loadMessages reads every language's strings and checks that each language has the same
// keys, so no screen shows a key name to a French reader.
func loadMessages() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, lang := range languages {
		raw, err := files.ReadFile("locales/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("webui: locales/%s.json: %w", lang, err)
		}
		out[lang] = m
	}
	base := out[languages[0]]
	for _, lang := range languages[1:] {
		for k := range base {
			if _, ok := out[lang][k]; !ok {
				return nil, fmt.Errorf("webui: locales/%s.json lacks %q", lang, k)
			}
		}
		for k := range out[lang] {
			if _, ok := base[k]; !ok {
				return nil, fmt.Errorf("webui: locales/%s.json has %q, which %s lacks", lang, k, languages[0])
			}
		}
	}
	return out, nil
}

// matcher picks the UI's language from Accept-Language.
var matcher = language.NewMatcher([]language.Tag{language.English, language.French})

// languageOf is the language chosen with the switch, else the best match of
// Accept-Language, else English.
func languageOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(languages, c.Value) {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return languages[0]
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return languages[0]
	}
	return languages[i]
}

// translator renders the UI's strings in one language. Arguments fill the message's
// fmt verbs.
type translator struct {
	lang string
	m    map[string]string
}

func (t translator) T(key string, args ...any) string {
	msg, ok := t.m[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// has reports whether key names a string, so only known keys from a query reach a page.
func (t translator) has(key string) bool {
	_, ok := t.m[key]
	return ok && !strings.ContainsAny(key, " <>")
}
