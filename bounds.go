package vssubs

// Bounds of the portal's requests, which the client checks before sending anything.
const (
	// MaxPageSize is the largest page the portal serves.
	MaxPageSize = 1000
	// MaxRemoveBatch is how many ids one removal carries; Remove splits larger sets.
	MaxRemoveBatch = 500
	// MaxBulkRows bounds a bulk add in all, uploaded at most MaxBulkChunk rows a request.
	MaxBulkRows  = 100_000
	MaxBulkChunk = 1000
	// MaxOrderQuantity bounds one order line, to catch typos before they become invoices.
	MaxOrderQuantity = 100_000
)
