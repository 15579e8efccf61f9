// Package cmdline gives vssubs's programs (vssubs, vssubs-portal, webhook-receiver) one
// behaviour on the command line: -h and --help print the usage on stdout and exit 0,
// --version prints the module version and exits 0, and a mistake on the command line
// (an unknown or missing flag, a file that is not there) prints what is wrong and the
// usage on stderr and exits 2. Any other failure exits 1.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Exit codes shared by every program.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is a mistake on the command line: the program prints it with its usage
// and exits ExitUsage.
type UsageError struct {
	Msg string
	// Usage is the program's usage, printed after Msg; Exit fills it in when empty.
	Usage string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// ErrVersion is returned by Parse once --version has printed the version: the program
// exits ExitOK without doing anything else.
var ErrVersion = errors.New("version printed")

// Version returns the version of the module the program was built from, as Go records
// it: a tag such as v0.2.0 for go install ...@v0.2.0, or (devel) with the commit for a
// build from a clone.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && v == "(devel)" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// Parse parses args into fs, which gains a --version flag. On -h or --help it prints
// the usage on stdout and returns flag.ErrHelp; on --version it prints the version and
// returns ErrVersion; on a bad flag it returns a *UsageError.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	version := fs.Bool("version", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		PrintUsage(stdout, fs)
		return flag.ErrHelp
	} else if err != nil {
		return &UsageError{Msg: err.Error(), Usage: UsageOf(fs)}
	}
	if *version {
		fmt.Fprintf(stdout, "%s %s\n", fs.Name(), Version())
		return ErrVersion
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: fmt.Sprintf("unexpected arguments %q", fs.Args()), Usage: UsageOf(fs)}
	}
	return nil
}

// PrintUsage prints the usage line and every flag of fs.
func PrintUsage(w io.Writer, fs *flag.FlagSet) { io.WriteString(w, UsageOf(fs)) }

// UsageOf returns the usage line and every flag of fs.
func UsageOf(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [flags]\n\nFlags:\n", fs.Name())
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// Exit prints err as the failure of the program name and returns the exit code: ExitOK
// for nil, flag.ErrHelp and ErrVersion; ExitUsage for a *UsageError, printed with its
// usage (that of fs when it has none and fs is not nil); ExitFailure for anything else.
func Exit(stderr io.Writer, name string, fs *flag.FlagSet, err error) int {
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, ErrVersion):
		return ExitOK
	case errors.As(err, &ue):
		usage := ue.Usage
		if usage == "" && fs != nil {
			usage = UsageOf(fs)
		}
		fmt.Fprintf(stderr, "%s: %s\n", name, ue.Msg)
		if usage != "" {
			fmt.Fprintf(stderr, "\n%s", usage)
		}
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return ExitFailure
}
