package portal_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// agreementShared are the fields of store.Agreement that a store may share with the
// agreements it hands out.
var agreementShared = map[string]bool{"Lines": true, "Roles": true, "Admins": true, "Grants": true, "Seats": true, "AccessRequests": true}

// The memory store hands the rules the maps it keeps (see store.Agreement), so a rule
// that wrote into one would change the stored agreement before its transaction commits,
// and keep the change if it failed. Every change goes through Agreement's methods, which
// copy the map first; this reads the rules' source for any other write.
func TestTheRulesChangeAgreementsOnlyThroughItsMethods(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A local that names a shared field (seats := a.Seats) is the field itself: its
		// writes count too. Locals are told apart by name within each function.
		var aliases map[string]string
		ast.Inspect(f, func(n ast.Node) bool {
			if fn, ok := n.(*ast.FuncDecl); ok {
				aliases = aliasesIn(fn)
			}
			var targets []ast.Expr
			switch n := n.(type) {
			case *ast.AssignStmt:
				targets = n.Lhs
			case *ast.IncDecStmt:
				targets = []ast.Expr{n.X}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) > 0 {
					targets = []ast.Expr{&ast.IndexExpr{X: n.Args[0]}}
				}
			}
			for _, e := range targets {
				if field := writesIntoShared(e, aliases); field != "" {
					t.Errorf("%s: writes into an agreement's %s in place; use its methods", fset.Position(e.Pos()), field)
				}
			}
			return true
		})
	}
}

// aliasesIn returns the locals of fn (its closures included) given a shared field as it
// is, by name: seats := a.Seats, or var lines = a.Lines. A copy (maps.Clone(a.Seats), a
// method's result) is no alias.
func aliasesIn(fn *ast.FuncDecl) map[string]string {
	out := map[string]string{}
	note := func(lhs []ast.Expr, rhs []ast.Expr) {
		if len(lhs) != len(rhs) {
			return
		}
		for i, r := range rhs {
			id, ok := lhs[i].(*ast.Ident)
			sel, isSel := ast.Unparen(r).(*ast.SelectorExpr)
			if ok && isSel && agreementShared[sel.Sel.Name] {
				out[id.Name] = sel.Sel.Name
			}
		}
	}
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			note(n.Lhs, n.Rhs)
		case *ast.ValueSpec:
			lhs := make([]ast.Expr, len(n.Names))
			for i, id := range n.Names {
				lhs[i] = id
			}
			note(lhs, n.Values)
		}
		return true
	})
	return out
}

// writesIntoShared names the shared field that writing to e writes into, or "": an
// element of one (a.Seats[l], a.Lines[0].Quantity, or seats[l] where seats is one of
// aliases), or what a decision time points to.
func writesIntoShared(e ast.Expr, aliases map[string]string) string {
	for {
		switch x := e.(type) {
		case *ast.IndexExpr:
			if sel, ok := x.X.(*ast.SelectorExpr); ok && agreementShared[sel.Sel.Name] {
				return sel.Sel.Name
			}
			if id, ok := x.X.(*ast.Ident); ok && aliases[id.Name] != "" {
				return aliases[id.Name]
			}
			e = x.X
		case *ast.SelectorExpr:
			e = x.X
		case *ast.StarExpr:
			if sel, ok := x.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "DecidedAt" {
				return "AccessRequests"
			}
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return ""
		}
	}
}
