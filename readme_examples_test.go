package vssubs_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
)

// TestEveryServiceMethodInTheReadmeHasAnExample keeps the README and the examples
// together: each call such as c.Orders.Place in README.md needs an Example function for
// OrdersService.Place (ExampleOrdersService_Place, or with a _suffix).
func TestEveryServiceMethodInTheReadmeHasAnExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]bool{}
	files, _ := filepath.Glob("*_test.go")
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range f.Scope.Objects {
			if rest, ok := strings.CutPrefix(obj.Name, "Example"); ok && obj.Kind.String() == "func" {
				typ, method, _ := strings.Cut(rest, "_")
				method, _, _ = strings.Cut(method, "_")
				examples[typ+"."+method] = true
			}
		}
	}
	client := reflect.TypeOf(vssubs.Client{})
	calls := regexp.MustCompile(`\b[a-z]\w*\.([A-Z]\w*)\.([A-Z]\w*)\(`).FindAllStringSubmatch(string(readme), -1)
	checked := 0
	for _, call := range calls {
		field, ok := client.FieldByName(call[1])
		if !ok || field.Type.Kind() != reflect.Pointer || !strings.HasSuffix(field.Type.Elem().Name(), "Service") {
			continue
		}
		checked++
		if want := field.Type.Elem().Name() + "." + call[2]; !examples[want] {
			t.Errorf("README.md calls %s.%s, but no Example%s exists", call[1], call[2], strings.Replace(want, ".", "_", 1))
		}
	}
	if checked == 0 {
		t.Fatal("found no service calls in README.md")
	}
}
