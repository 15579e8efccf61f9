// Package oapicodegen is the client oapi-codegen v2.8.2 generates from api/openapi.yaml,
// a peer the benchmarks measure vssubs against. Regenerate it with go generate.
package oapicodegen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 --config oapi-codegen.yaml ../../../../api/openapi.yaml
