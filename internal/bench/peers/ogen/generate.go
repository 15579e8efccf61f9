// Package ogen is the client ogen v1.24.0 generates from api/openapi.yaml, the peer the
// benchmarks measure vssubs against. Regenerate it with go generate.
package ogen

//go:generate go run github.com/ogen-go/ogen/cmd/ogen@v1.24.0 --config ogen.yml --target . --package ogen --clean ../../../../api/openapi.yaml
