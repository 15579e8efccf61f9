package vssubs_test

import (
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// BenchmarkVerifyWebhook measures a receiver's cost per genuine delivery.
func BenchmarkVerifyWebhook(b *testing.B) {
	secret := vssubs.WebhookSecret{Current: newSecret, Previous: oldSecret}
	seen := vssubs.NewMemoryReplayCache(nil)
	n := sampleNotification()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		n.ID = "ntf_" + time.Duration(i).String()
		r := delivery(b, newSecret, webhookAt, n)
		b.StartTimer()
		if _, err := verifyAt(r, secret, seen); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderNotification measures rendering one notification's subject, text and HTML.
func BenchmarkRenderNotification(b *testing.B) {
	data := sampleData()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := vssubs.RenderNotification(vssubs.KindPartnerAdded, vssubs.LangFrench, data); err != nil {
			b.Fatal(err)
		}
		if _, err := vssubs.RenderNotificationHTML(vssubs.KindPartnerAdded, vssubs.LangFrench, data); err != nil {
			b.Fatal(err)
		}
	}
}
