module github.com/vssubs/vssubs-go

go 1.24
