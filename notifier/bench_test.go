package notifier_test

import (
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
)

// BenchmarkRender measures rendering one notification's subject, text and HTML: by plan
// (subscription_assigned, which a bulk add sends per row) and by template (partner_added,
// whose HTML shows an optional link).
func BenchmarkRender(b *testing.B) {
	for _, kind := range []vssubs.NotificationKind{vssubs.KindSubscriptionAssigned, vssubs.KindPartnerAdded} {
		b.Run(string(kind), func(b *testing.B) {
			n := vssubs.Notification{Kind: kind, Language: vssubs.LangFrench, Data: sampleData()}
			b.ReportAllocs()
			for b.Loop() {
				if err := notifier.RenderNotification(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
