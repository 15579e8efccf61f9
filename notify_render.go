package vssubs

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// A notification text is literal text and {{.key}} substitutions, nothing more, so each
// is compiled once into segments and rendered by concatenation: a bulk add of ten
// thousand subscribers renders twenty thousand texts, and text/template's reflection
// would cost more than the rest of the operation. A template using anything else keeps
// being executed by text/template.
type textSegment struct {
	text string
	key  string // set for a substitution
}

// compiledTexts maps a template name to its segments; built once, never modified.
var compiledTexts = compileTexts(notificationTexts)

func compileTexts(t *template.Template) map[string][]textSegment {
	out := map[string][]textSegment{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		if segs, ok := compileNodes(tt.Tree.Root.Nodes); ok {
			out[tt.Name()] = segs
		}
	}
	return out
}

func compileNodes(nodes []parse.Node) ([]textSegment, bool) {
	var segs []textSegment
	for _, n := range nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			segs = append(segs, textSegment{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil, false
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 {
				return nil, false
			}
			segs = append(segs, textSegment{key: f.Ident[0]})
		default:
			return nil, false
		}
	}
	return segs, true
}

// renderSegments is what text/template does with the option missingkey=error.
func renderSegments(name string, segs []textSegment, data map[string]string) (string, error) {
	size := 0
	for _, s := range segs {
		size += len(s.text)
	}
	var b strings.Builder
	b.Grow(size + 32*len(segs))
	for _, s := range segs {
		if s.key == "" {
			b.WriteString(s.text)
			continue
		}
		v, ok := data[s.key]
		if !ok {
			return "", fmt.Errorf("template %s: map has no entry for key %q", name, s.key)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
