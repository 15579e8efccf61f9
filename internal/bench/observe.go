package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/otelvssubs"
)

// ClientGetTraced is ClientGet with OpenTelemetry's SDK behind otelvssubs: every call
// sampled, its spans batched to an exporter that drops them, its metrics aggregated by
// a reader, as a traced production client would pay.
func ClientGetTraced(b *testing.B) {
	srv, hc := getServer(b)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
	obs, err := otelvssubs.ClientOption(otelvssubs.Providers{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc),
		vssubs.WithCredential(vssubs.StaticToken(getToken)), obs)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		s, err := c.Subscribers.Get(ctx, getAgreement, getSubscriber)
		if err != nil || s.ID != getSubscriber {
			b.Fatalf("Get = %v, %v", s, err)
		}
	}
}

// measureTraced prints what tracing and metrics cost a call: Get with otelvssubs over Get
// without, in the same run. The issue asks for the figure, not for a goal.
func measureTraced(*Suite) (Figure, error) {
	tr, plain, err := pair("Subscribers.Get traced", ClientGetTraced, ClientGet, 5)
	if err != nil {
		return Figure{}, err
	}
	ratio := float64(tr.NsPerOp()) / float64(plain.NsPerOp())
	return Figure{CPURatio: cpuRatio(tr, plain),
		Name:     "Subscribers.Get with otelvssubs (SDK, every call sampled)",
		Measured: fmt.Sprintf("%s, %d allocs/op", time.Duration(tr.NsPerOp()), tr.AllocsPerOp()),
		Baseline: fmt.Sprintf("%s, %d allocs/op (no observer)", time.Duration(plain.NsPerOp()), plain.AllocsPerOp()),
		Ratio:    ratio, Goal: "printed", Met: true,
		Note: fmt.Sprintf("+%s per call", time.Duration(tr.NsPerOp()-plain.NsPerOp())),
	}, nil
}
