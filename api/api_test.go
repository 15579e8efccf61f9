package api_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/vssubs/vssubs-go/api"
	"github.com/vssubs/vssubs-go/portal"
)

// loadContract parses the contract, failing the test if it does not load.
func loadContract(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("api/openapi.yaml does not load: %v", err)
	}
	return doc
}

// eachOperation calls f with every operation of the contract and its method and path.
func eachOperation(doc *openapi3.T, f func(method, path string, op *openapi3.Operation)) {
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			f(method, path, op)
		}
	}
}

func TestContractIsValidOpenAPI3(t *testing.T) {
	doc := loadContract(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	// Validate checks the document's structure, every $ref, and every example against
	// its schema.
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is not valid OpenAPI 3: %v", err)
	}
}

// endpointKey turns a ServeMux pattern such as "GET /v1/orders/{order}" and a contract
// method and path into the same form, so the two lists compare.
func endpointKey(method, path string) string { return strings.ToUpper(method) + " " + path }

func TestContractCoversEveryEndpointAndNoMore(t *testing.T) {
	doc := loadContract(t)
	var inContract []string
	eachOperation(doc, func(method, path string, _ *openapi3.Operation) {
		inContract = append(inContract, endpointKey(method, path))
	})
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, ep := range p.Endpoints() {
		method, path, ok := strings.Cut(ep.Pattern, " ")
		if !ok {
			t.Fatalf("endpoint pattern %q has no method", ep.Pattern)
		}
		served = append(served, endpointKey(method, path))
	}
	slices.Sort(inContract)
	slices.Sort(served)
	if diff := cmp.Diff(served, inContract); diff != "" {
		t.Errorf("portal.Endpoints() (-) and api/openapi.yaml (+) differ:\n%s", diff)
	}
}

func TestEveryOperationHasAnIDAndDocumentsUnauthorized(t *testing.T) {
	doc := loadContract(t)
	ids := map[string]string{}
	eachOperation(doc, func(method, path string, op *openapi3.Operation) {
		where := endpointKey(method, path)
		if op.OperationID == "" {
			t.Errorf("%s has no operationId", where)
		}
		if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("operationId %q is used by %s and %s", op.OperationID, prev, where)
		}
		ids[op.OperationID] = where
		if op.Responses.Status(401) == nil {
			t.Errorf("%s does not document 401 unauthorized", where)
		}
		if op.Responses.Status(429) == nil {
			t.Errorf("%s does not document 429 with Retry-After", where)
		}
	})
}

func TestOpenAPIReturnsACopy(t *testing.T) {
	a := api.OpenAPI()
	a[0] = 'X'
	if b := api.OpenAPI(); b[0] == 'X' {
		t.Fatal("modifying the returned contract changed the next one")
	}
}

// codesOfErrorsGo reads the ErrorCode constants declared in the root package's errors.go.
func codesOfErrorsGo(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ErrorCode" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					codes = append(codes, s)
				}
			}
		}
	}
	return codes
}

func TestContractListsEveryErrorCodeAndNoMore(t *testing.T) {
	doc := loadContract(t)
	var enum []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		enum = append(enum, v.(string))
	}
	code := codesOfErrorsGo(t)
	slices.Sort(enum)
	slices.Sort(code)
	if len(code) == 0 {
		t.Fatal("found no ErrorCode constants in errors.go")
	}
	if diff := cmp.Diff(code, enum); diff != "" {
		t.Errorf("errors.go's codes (-) and the contract's ErrorCode enum (+) differ:\n%s", diff)
	}
}

func TestEveryErrorCodeHasAnExample(t *testing.T) {
	doc := loadContract(t)
	seen := map[string]bool{}
	eachOperation(doc, func(_, _ string, op *openapi3.Operation) {
		for _, r := range op.Responses.Map() {
			mt := r.Value.Content.Get("application/json")
			if mt == nil {
				continue
			}
			for _, ex := range mt.Examples {
				if m, ok := ex.Value.Value.(map[string]any); ok {
					if c, ok := m["code"].(string); ok {
						seen[c] = true
					}
				}
			}
		}
	})
	for _, code := range codesOfErrorsGo(t) {
		if !seen[code] {
			t.Errorf("no response of api/openapi.yaml has an example of %q", code)
		}
	}
}
