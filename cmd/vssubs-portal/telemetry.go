package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/vssubs/vssubs-go/otelvssubs"
	"github.com/vssubs/vssubs-go/otelvssubs/otelportal"
	"github.com/vssubs/vssubs-go/portal"
)

// telemetry exports the portal's traces and metrics over OTLP/HTTP when the standard
// OpenTelemetry environment asks for it (OTEL_EXPORTER_OTLP_ENDPOINT, or the
// _TRACES_ and _METRICS_ variants), and sets up nothing otherwise. The exporters read
// the rest of the OTEL_EXPORTER_OTLP_* variables themselves (headers, timeouts, TLS);
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the resource.
func telemetry(ctx context.Context) (opt portal.Option, shutdown func(context.Context) error, err error) {
	traces := wanted("TRACES")
	metrics := wanted("METRICS")
	shutdown = func(context.Context) error { return nil }
	if !traces && !metrics {
		return nil, shutdown, nil
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"} {
		if p := os.Getenv(v); p != "" && p != "http/protobuf" {
			return nil, nil, fmt.Errorf("%s=%s: vssubs-portal exports over http/protobuf only", v, p)
		}
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName("vssubs-portal")),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry resource: %w", err)
	}
	var p otelvssubs.Providers
	p.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	var downs []func(context.Context) error
	if traces {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		p.TracerProvider = tp
		downs = append(downs, tp.Shutdown)
	}
	if metrics {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("OTLP metric exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		p.MeterProvider = mp
		downs = append(downs, mp.Shutdown)
	}
	shutdown = func(ctx context.Context) error {
		var errs []error
		for _, d := range downs {
			errs = append(errs, d(ctx))
		}
		return errors.Join(errs...)
	}
	if !traces {
		p.TracerProvider = noopTracer()
	}
	if !metrics {
		p.MeterProvider = noopMeter()
	}
	opt, err = otelportal.Option(p)
	if err != nil {
		_ = shutdown(ctx)
		return nil, nil, err
	}
	return opt, shutdown, nil
}

// wanted reports whether signal ("TRACES" or "METRICS") has an OTLP endpoint and is not
// turned off with OTEL_<signal>_EXPORTER=none or OTEL_SDK_DISABLED=true.
func wanted(signal string) bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || os.Getenv("OTEL_"+signal+"_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// The signal not exported goes nowhere, rather than to the global providers.
func noopTracer() trace.TracerProvider { return tracenoop.NewTracerProvider() }
func noopMeter() metric.MeterProvider  { return metricnoop.NewMeterProvider() }
