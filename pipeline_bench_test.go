package vssubs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// BenchmarkPipeline measures one read through the whole pipeline (limiter, retries,
// headers, logging) over the embedded portal's in-process transport, silent and with
// debug logging, so the cost the pipeline adds to a call stays visible.
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []vssubs.Option
	}{
		{"silent", nil},
		{"debug-logging", []vssubs.Option{vssubs.WithLogger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})))}},
		{"rate-limited", []vssubs.Option{vssubs.WithRateLimit(1e9, 1000)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			p, err := portal.New()
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			c, err := p.Client("pat@reseller.com", bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			order, err := c.Orders.Place(ctx, anOrder())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Orders.Get(ctx, order.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
