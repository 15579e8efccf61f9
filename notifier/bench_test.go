package notifier_test

import (
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
)

// BenchmarkRender measures rendering one notification's subject, text and HTML.
func BenchmarkRender(b *testing.B) {
	data := sampleData()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := notifier.Render(vssubs.KindPartnerAdded, vssubs.LangFrench, data); err != nil {
			b.Fatal(err)
		}
		if _, err := notifier.RenderHTML(vssubs.KindPartnerAdded, vssubs.LangFrench, data); err != nil {
			b.Fatal(err)
		}
	}
}
