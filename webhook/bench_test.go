package webhook_test

import (
	"testing"
	"time"

	"github.com/vssubs/vssubs-go/webhook"
)

// BenchmarkVerify measures a receiver's cost per genuine delivery.
func BenchmarkVerify(b *testing.B) {
	secret := webhook.Secret{Current: newSecret, Previous: oldSecret}
	seen := webhook.NewMemoryReplayCache(nil)
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
