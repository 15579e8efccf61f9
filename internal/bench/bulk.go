package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// BulkAdd measures adding BulkRows subscribers in one BulkAdd into the embedded portal,
// through its in-process transport. Each op starts from a fresh agreement, set up off
// the clock.
func BulkAdd(b *testing.B) {
	ctx := context.Background()
	rows := bulkRows(BulkRows)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		f, err := newAgreement(ctx, BulkRows)
		must(b, err)
		start := processCPU()
		b.StartTimer()
		res, err := f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: rows})
		if err != nil || res.Added != BulkRows {
			b.Fatalf("BulkAdd = %+v, %v", res, err)
		}
		cpu += processCPU() - start
		b.StopTimer()
		must(b, f.close(ctx))
		b.StartTimer()
	}
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}

// JSONFloor is the baseline of BulkAdd: encoding the same rows as JSON and decoding them
// back, the least work any implementation sending them over the wire does.
func JSONFloor(b *testing.B) {
	rows := bulkRows(BulkRows)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		data, err := json.Marshal(wire.BulkChunk[vssubs.BulkRow]{Rows: rows})
		must(b, err)
		var back wire.BulkChunk[vssubs.BulkRow]
		must(b, json.Unmarshal(data, &back))
		if len(back.Rows) != BulkRows {
			b.Fatalf("decoded %d rows", len(back.Rows))
		}
	}
}
