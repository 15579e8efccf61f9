package notifier

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	vssubs "github.com/vssubs/vssubs-go"
)

// A plan is a template flattened into the text between its substitutions and the data
// fields they print, so that rendering one is a concatenation instead of a walk through
// reflection: a bulk add renders thousands of notifications. The templates stay the one
// source of truth. A plan is derived from a template's parsed tree (for HTML, the tree
// html/template escaped) and its output, and only for a template whose sole
// data-dependent actions print one field each; any other template is executed as it is.
type plan struct {
	pieces  []piece
	html    bool   // fields are HTML-escaped as html/template escapes them in text
	name    string // the template's name, for errors
	literal int    // bytes of text, to size the output once
}

// piece is text followed by the field printed after it ("" after the last text).
type piece struct {
	text, field string
}

// planKey names one part of one kind in one language.
type planKey struct {
	kind vssubs.NotificationKind
	lang vssubs.Language
	part string
}

// plans holds the plan of every template that has one, built on first use.
var plans = sync.OnceValue(func() map[planKey]*plan {
	out := map[planKey]*plan{}
	for _, kind := range vssubs.NotificationKinds() {
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
			for _, part := range []string{"subject", "text", "html"} {
				name := templateName(kind, lang, part)
				p := compileText(textTemplates, name)
				if part == "html" {
					p = compileHTML(htmlTemplates, name)
				}
				if p != nil {
					out[planKey{kind, lang, part}] = p
				}
			}
		}
	}
	return out
})

// htmlEscaper writes s as html/template writes a string in HTML text (its htmlEscaper):
// the plan test holds the two to the same output.
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// The marks a field is rendered between when a plan is built. They are private-use
// characters, which no escaper changes and no template holds.
const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

// compileHTML builds the plan of the named template of set, or nil when the template does
// more than print fields in HTML text (a condition, a loop, a field in an attribute) or
// is not defined.
func compileHTML(set *htmltemplate.Template, name string) *plan {
	t := set.Lookup(name)
	if t == nil {
		return nil
	}
	// html/template escapes a template on its first execution, rewriting its tree, so the
	// tree is read after one (which stops at the first field, missing here).
	_ = t.Execute(io.Discard, nil)
	lookup := func(n string) *parse.Tree {
		if t := set.Lookup(n); t != nil {
			return t.Tree
		}
		return nil
	}
	return compileTree(name, true, t.Tree, lookup, t)
}

// compileText is compileHTML for a text template.
func compileText(set *template.Template, name string) *plan {
	t := set.Lookup(name)
	if t == nil {
		return nil
	}
	lookup := func(n string) *parse.Tree {
		if t := set.Lookup(n); t != nil {
			return t.Tree
		}
		return nil
	}
	return compileTree(name, false, t.Tree, lookup, t)
}

// compileTree builds the plan of a template from its tree, which tells which fields it
// prints, and its output with each field marked, which gives the text between them.
func compileTree(name string, html bool, tree *parse.Tree, lookup func(string) *parse.Tree, t interface{ Execute(io.Writer, any) error }) *plan {
	if tree == nil {
		return nil
	}
	fields, ok := printedFields(tree.Root, lookup, html, true)
	if !ok {
		return nil
	}
	var b strings.Builder
	if err := t.Execute(&b, markedData(fields)); err != nil {
		return nil
	}
	out := b.String()
	p := &plan{html: html, name: name}
	for i := 0; ; i++ {
		open := strings.Index(out, markOpen)
		if open < 0 {
			if i != len(fields) || strings.Contains(out, markClose) {
				return nil
			}
			p.pieces = append(p.pieces, piece{text: out})
			p.literal += len(out)
			return p
		}
		rest := out[open+len(markOpen):]
		end := strings.Index(rest, markClose)
		// Each field the tree prints must come out, in the tree's order, where it was printed.
		if end < 0 || i >= len(fields) || rest[:end] != fields[i] {
			return nil
		}
		p.pieces = append(p.pieces, piece{text: out[:open], field: fields[i]})
		p.literal += open
		out = rest[end+len(markClose):]
	}
}

// markedData maps each field to itself between the marks.
func markedData(fields []string) map[string]string {
	data := make(map[string]string, len(fields))
	for _, f := range fields {
		data[f] = markOpen + f + markClose
	}
	return data
}

// printedFields lists, in order, the data fields the nodes print, and reports whether
// printing them is all the nodes do with the data. dataDot says whether dot is the data;
// otherwise it is a constant passed to a called template, and nothing may read a field.
func printedFields(n parse.Node, lookup func(string) *parse.Tree, html, dataDot bool) ([]string, bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		var fields []string
		for _, c := range n.Nodes {
			f, ok := printedFields(c, lookup, html, dataDot)
			if !ok {
				return nil, false
			}
			fields = append(fields, f...)
		}
		return fields, true
	case *parse.TextNode, *parse.CommentNode:
		return nil, true
	case *parse.ActionNode:
		return printedField(n.Pipe, html, dataDot)
	case *parse.TemplateNode:
		// A called template is followed only when its dot is a constant (or nothing), so
		// its output does not depend on the data.
		if n.Pipe != nil && !constantPipe(n.Pipe) {
			return nil, false
		}
		t := lookup(n.Name)
		if t == nil || t.Root == nil {
			return nil, false
		}
		fields, ok := printedFields(t.Root, lookup, html, false)
		return nil, ok && len(fields) == 0
	default: // if, with, range, break, continue: the output depends on the data's shape
		return nil, false
	}
}

// printedField is the field an action prints: {{.field}}, which html/template turns into
// {{.field | _html_template_htmlescaper}} in text. An action printing a constant or the
// constant dot is allowed where dot is not the data.
func printedField(pipe *parse.PipeNode, html, dataDot bool) ([]string, bool) {
	if pipe == nil || len(pipe.Decl) != 0 || len(pipe.Cmds) == 0 {
		return nil, false
	}
	for _, c := range pipe.Cmds[1:] {
		if len(c.Args) != 1 || !isEscaper(c.Args[0], html, dataDot) {
			return nil, false
		}
	}
	first := pipe.Cmds[0]
	if len(first.Args) != 1 {
		return nil, false
	}
	switch a := first.Args[0].(type) {
	case *parse.FieldNode:
		// Only a field in HTML text, escaped by htmlescaper alone, is what htmlEscaper writes.
		if !dataDot || len(a.Ident) != 1 || (html && len(pipe.Cmds) != 2) || (!html && len(pipe.Cmds) != 1) {
			return nil, false
		}
		return a.Ident, true
	case *parse.DotNode, *parse.StringNode:
		return nil, !dataDot
	}
	return nil, false
}

// isEscaper reports whether arg names one of html/template's escapers that a plan may
// leave in place: in text, where a field is printed, only htmlescaper; around a constant,
// any, since the plan keeps what it wrote.
func isEscaper(arg parse.Node, html, dataDot bool) bool {
	id, ok := arg.(*parse.IdentifierNode)
	if !ok || !html {
		return false
	}
	if dataDot {
		return id.Ident == "_html_template_htmlescaper"
	}
	return strings.HasPrefix(id.Ident, "_html_template_")
}

// constantPipe reports whether pipe is one string constant.
func constantPipe(pipe *parse.PipeNode) bool {
	if len(pipe.Decl) != 0 || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return false
	}
	_, ok := pipe.Cmds[0].Args[0].(*parse.StringNode)
	return ok
}

// size is the length the plan writes for data, at least (escaping may add to it), or the
// error a template gives for a missing field.
func (p *plan) size(data map[string]string) (int, error) {
	n := p.literal
	for _, pc := range p.pieces {
		if pc.field == "" {
			continue
		}
		v, ok := data[pc.field]
		if !ok {
			return 0, fmt.Errorf("executing %q: map has no entry for key %q", p.name, pc.field)
		}
		n += len(v)
	}
	return n, nil
}

// write renders data by the plan into b.
func (p *plan) write(b *strings.Builder, data map[string]string) {
	for _, pc := range p.pieces {
		b.WriteString(pc.text)
		if pc.field == "" {
			continue
		}
		if p.html {
			_, _ = htmlEscaper.WriteString(b, data[pc.field])
		} else {
			b.WriteString(data[pc.field])
		}
	}
}

// execute renders data by the plan.
func (p *plan) execute(data map[string]string) (string, error) {
	parts, err := executePlans(data, p)
	return parts[0], err
}

// executePlans renders data by up to three plans (a notification's subject, text and
// HTML) into one string, sized once, and returns each plan's part of it.
func executePlans(data map[string]string, plans ...*plan) ([3]string, error) {
	var parts [3]string
	total := 0
	for _, p := range plans {
		n, err := p.size(data)
		if err != nil {
			return parts, err
		}
		total += n
	}
	var b strings.Builder
	b.Grow(total + total/8)
	var ends [3]int
	for i, p := range plans {
		p.write(&b, data)
		ends[i] = b.Len()
	}
	all, start := b.String(), 0
	for i := range plans {
		parts[i], start = all[start:ends[i]], ends[i]
	}
	return parts, nil
}

// templateName is the name a part of a kind in a language is defined under.
func templateName(kind vssubs.NotificationKind, lang vssubs.Language, part string) string {
	return string(kind) + "." + string(lang) + "." + part
}
