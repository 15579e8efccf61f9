// Package cli is the vssubs command-line tool: every partner operation as a subcommand,
// configured from flags or the environment, printing a table for people or JSON for
// scripts. cmd/vssubs is a thin main around Run, so the whole tool is testable.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cmdline"
	"github.com/vssubs/vssubs-go/internal/english"
)

// Environment variables the tool reads when the matching flag is not given.
const (
	EnvBaseURL   = "VSSUBS_BASE_URL"
	EnvToken     = "VSSUBS_TOKEN"
	EnvAgreement = "VSSUBS_AGREEMENT"
	EnvLanguage  = "VSSUBS_LANG"
)

// Run runs the tool with args (without the program name) and returns its exit code.
// getenv looks up configuration, such as os.Getenv. Stdout holds only the result; the
// progress bar of bulk operations is drawn on stderr, and only when it is a terminal.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(ctx, args, &session{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		tty: isTerminal(stderr),
	})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// session is one invocation: its streams, its configuration and, once built, its client.
type session struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// tty tells whether stderr is a terminal, where the progress bar may be drawn.
	tty bool

	baseURL, token, lang string
	json, version        bool
	rate                 float64
	trace                bool
	// maxErrors is how many rows of a refused bulk add are printed for a person.
	maxErrors int
	client    *vssubs.Client
	// setFlags are the flags given on the command line, for commands that change only
	// the fields given.
	setFlags map[string]bool
}

// command is a node of the command tree: a group with subcommands, or a leaf that runs.
type command struct {
	name     string
	args     string // positional arguments, for the usage line
	summary  string
	nargs    int  // number of positional arguments a leaf takes
	variadic bool // nargs is a minimum
	sub      []*command
	flags    func(fs *flag.FlagSet)
	// required are the flags the command cannot run without; a missing one is a
	// usage error, as every missing one is listed at once.
	required []string
	// example is one command line that runs it, shown by -h.
	example string
	run     func(ctx context.Context, s *session, args []string) error
}

// usageError is a mistake on the command line; the tool prints the command's usage.
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, s *session) int {
	root := tree()
	s.json = wantsJSON(args)
	if len(args) == 0 {
		s.usage(s.stderr, root, "vssubs")
		return ExitUsage
	}
	fs := s.flagSet("vssubs")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		s.usage(s.stdout, root, "vssubs")
		return ExitOK
	} else if err != nil {
		return s.fail(&usageError{cmd: root, msg: err.Error()}, "vssubs")
	}
	if s.version {
		fmt.Fprintln(s.stdout, "vssubs", cmdline.Version())
		return ExitOK
	}
	cmd, path, rest := root, "vssubs", fs.Args()
	for len(cmd.sub) > 0 {
		if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
			if len(rest) == 0 {
				return s.fail(&usageError{cmd: cmd, msg: "missing subcommand"}, path)
			}
			s.usage(s.stdout, cmd, path)
			return ExitOK
		}
		next := find(cmd.sub, rest[0])
		if next == nil {
			return s.fail(&usageError{cmd: cmd, msg: fmt.Sprintf("unknown command %q", rest[0])}, path)
		}
		cmd, path, rest = next, path+" "+next.name, rest[1:]
	}
	fs = s.flagSet(path)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterleaved(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		s.usage(s.stdout, cmd, path)
		return ExitOK
	}
	if err != nil {
		return s.fail(&usageError{cmd: cmd, msg: err.Error()}, path)
	}
	if s.version {
		fmt.Fprintln(s.stdout, "vssubs", cmdline.Version())
		return ExitOK
	}
	s.setFlags = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { s.setFlags[f.Name] = true })
	var missing []string
	for _, name := range cmd.required {
		if !s.setFlags[name] {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		return s.fail(&usageError{cmd: cmd, msg: fmt.Sprintf("missing required %s %s", english.Plural(len(missing), "flag"), joinAnd(missing))}, path)
	}
	if len(pos) < cmd.nargs || (len(pos) > cmd.nargs && !cmd.variadic) {
		return s.fail(&usageError{cmd: cmd, msg: fmt.Sprintf("want %s (%s), got %d", english.Count(cmd.nargs, "argument"), cmd.args, len(pos))}, path)
	}
	if err := cmd.run(ctx, s, pos); err != nil {
		return s.fail(err, path)
	}
	return ExitOK
}

// joinAnd lists items as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// wantsJSON looks for --json before parsing, so that even a command line that fails to
// parse reports its error as JSON to the script that asked for it.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-json", "--json", "-json=true", "--json=true":
			return true
		}
	}
	return false
}

func find(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// flagSet returns a flag set holding the global flags, so they may be given before or
// after the subcommand.
func (s *session) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.baseURL, "base-url", s.baseURL, "portal API root (env "+EnvBaseURL+")")
	fs.StringVar(&s.token, "token", s.token, "bearer token (env "+EnvToken+"; prefer the environment, flags show in ps)")
	// Not --lang: subscribers and admins have an --email-language of their own.
	fs.StringVar(&s.lang, "my-language", s.lang, "the language the portal writes to you in: en or fr (env "+EnvLanguage+")")
	fs.BoolVar(&s.json, "json", s.json, "print JSON for scripts instead of a table")
	fs.Float64Var(&s.rate, "rate", s.rate, "at most this many calls a second (default: no limit)")
	fs.BoolVar(&s.trace, "trace", s.trace, "print each call's attempts, waits and statuses to stderr")
	fs.BoolVar(&s.version, "version", s.version, "print the version and exit")
	return fs
}

// globalFlags are the names of the flags every command takes.
func (s *session) globalFlags() map[string]bool {
	names := map[string]bool{}
	s.flagSet("").VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// parseInterleaved parses flags wherever they appear among the positional arguments,
// which flag.Parse alone stops at; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func (s *session) usage(w io.Writer, cmd *command, path string) {
	if len(cmd.sub) > 0 {
		fmt.Fprintf(w, "Usage: %s <command> [flags]\n\n", path)
		if cmd.summary != "" {
			fmt.Fprintf(w, "%s\n\n", cmd.summary)
		}
		fmt.Fprintln(w, "Commands:")
		for _, c := range cmd.sub {
			fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags and an example.\n\nGlobal flags:\n", path)
		printFlags(w, s.flagSet(path), nil, func(string) bool { return true })
		if cmd.name == "vssubs" {
			fmt.Fprint(w, exitCodeHelp)
		}
		return
	}
	line := path + " [flags]"
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", line, cmd.summary)
	fs := s.flagSet(path)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	global := s.globalFlags()
	required := map[string]bool{}
	for _, r := range cmd.required {
		required[r] = true
	}
	if cmd.flags != nil {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs, required, func(name string) bool { return !global[name] })
	}
	fmt.Fprintln(w, "\nGlobal flags:")
	printFlags(w, fs, nil, func(name string) bool { return global[name] })
	if cmd.example != "" {
		fmt.Fprintf(w, "\nExample:\n  %s\n", cmd.example)
	}
}

// printFlags prints the flags of fs that keep accepts, marking the required ones.
func printFlags(w io.Writer, fs *flag.FlagSet, required map[string]bool, keep func(string) bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		kind, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if kind != "" {
			name += " " + kind
		}
		if required[f.Name] {
			usage = "(required) " + usage
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	})
	_ = tw.Flush()
}

// newClient builds the client from flags, falling back to the environment.
func (s *session) newClient() (*vssubs.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	base := firstNonEmpty(s.baseURL, s.getenv(EnvBaseURL))
	token := firstNonEmpty(s.token, s.getenv(EnvToken))
	lang := vssubs.Language(firstNonEmpty(s.lang, s.getenv(EnvLanguage), string(vssubs.LangEnglish)))
	var missing []string
	if base == "" {
		missing = append(missing, "--base-url or "+EnvBaseURL)
	}
	if token == "" {
		missing = append(missing, "--token or "+EnvToken)
	}
	if len(missing) > 0 {
		return nil, &usageError{msg: "not configured: set " + strings.Join(missing, " and ")}
	}
	opts := []vssubs.Option{
		vssubs.WithBaseURL(base),
		vssubs.WithCredential(vssubs.StaticToken(token)),
		vssubs.WithLanguage(lang),
		vssubs.WithUserAgent("vssubs-cli"),
	}
	if s.rate != 0 {
		opts = append(opts, vssubs.WithRateLimit(rate.Limit(s.rate), 1))
	}
	if s.trace {
		opts = append(opts, vssubs.WithObserver(&tracer{w: s.stderr}))
	}
	c, err := vssubs.NewClient(opts...)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	s.client = c
	return c, nil
}

// agreement returns the agreement an agreement-scoped command acts on.
func (s *session) agreement(flagValue string) (string, error) {
	if id := firstNonEmpty(flagValue, s.getenv(EnvAgreement)); id != "" {
		return id, nil
	}
	return "", &usageError{msg: "no agreement: set --agreement or " + EnvAgreement}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
