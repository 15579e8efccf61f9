// Package api holds the wire contract of the Visual Studio Subscriptions administration
// portal, api/openapi.yaml, that the vssubs client and the embedded portal both honour.
// The test suite validates every exchange against it; vssubstest answers mocked calls
// with its examples.
package api

import (
	_ "embed"
	"slices"
)

//go:embed openapi.yaml
var contract []byte

// OpenAPI returns the contract, an OpenAPI 3 document in YAML. Each call returns a fresh
// copy, so a caller may modify it freely.
func OpenAPI() []byte { return slices.Clone(contract) }
