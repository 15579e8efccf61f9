module github.com/vssubs/vssubs-go

go 1.24.0

require (
	github.com/google/go-cmp v0.7.0
	golang.org/x/term v0.36.0
)

require golang.org/x/sys v0.37.0 // indirect
