// Package errorbody turns the client's *vssubs.APIError into the portal's one error
// shape, for the programs that write it: the portal and the CLI's JSON output.
package errorbody

import (
	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// Of returns the wire shape of e, as the portal writes it.
func Of(e *vssubs.APIError) wire.ErrorBody {
	return wire.ErrorBody{
		Code:              string(e.Code),
		Message:           e.Message,
		Fields:            Fields(e.Fields),
		RequestID:         e.RequestID,
		RetryAfterSeconds: wire.CeilSeconds(e.RetryAfter),
		Details:           e.Details,
	}
}

// Fields converts field problems to their wire shape.
func Fields(fs []vssubs.FieldError) []wire.FieldError {
	if len(fs) == 0 {
		return nil
	}
	out := make([]wire.FieldError, len(fs))
	for i, f := range fs {
		out[i] = wire.FieldError(f)
	}
	return out
}
