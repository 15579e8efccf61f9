package cli

import (
	"flag"
	"strings"
	"testing"
)

// leaves walks the command tree and calls f with each runnable command and its path.
func leaves(cmd *command, path string, f func(*command, string)) {
	if len(cmd.sub) == 0 {
		f(cmd, path)
		return
	}
	for _, c := range cmd.sub {
		leaves(c, path+" "+c.name, f)
	}
}

// Every command's help gives one example, and the example is a command line the tool
// accepts: its own name, known flags, every required flag, and its arguments.
func TestEveryCommandHasAnExampleThatParses(t *testing.T) {
	leaves(tree(), "vssubs", func(cmd *command, path string) {
		t.Run(path, func(t *testing.T) {
			if cmd.example == "" {
				t.Fatal("no example")
			}
			args := strings.Fields(strings.ReplaceAll(cmd.example, `"$(vssubs vlsc link L0123456789)"`, "LINK"))
			if got := strings.Join(args[:len(strings.Fields(path))], " "); got != path {
				t.Fatalf("example %q runs %q, not %q", cmd.example, got, path)
			}
			s := &session{}
			fs := s.flagSet(path)
			if cmd.flags != nil {
				cmd.flags(fs)
			}
			pos, err := parseInterleaved(fs, args[len(strings.Fields(path)):])
			if err != nil {
				t.Fatalf("example %q does not parse: %v", cmd.example, err)
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			for _, r := range cmd.required {
				if !set[r] {
					t.Errorf("example %q lacks the required --%s", cmd.example, r)
				}
			}
			if len(pos) < cmd.nargs || (len(pos) > cmd.nargs && !cmd.variadic) {
				t.Errorf("example %q gives %d arguments, want %d (%s)", cmd.example, len(pos), cmd.nargs, cmd.args)
			}
		})
	})
}

// Help marks the required flags and lists the global flags apart from the command's own.
func TestHelpMarksRequiredAndGlobalFlags(t *testing.T) {
	var b strings.Builder
	s := &session{}
	root := tree()
	migrate := find(find(root.sub, "subscribers").sub, "migrate")
	s.usage(&b, migrate, "vssubs subscribers migrate")
	help := b.String()
	own, global, ok := strings.Cut(help, "\nGlobal flags:\n")
	if !ok {
		t.Fatalf("no Global flags section:\n%s", help)
	}
	global, _, _ = strings.Cut(global, "\nExample:")
	for _, want := range []string{"--from string             (required)", "--to string", "--dry-run"} {
		if !strings.Contains(own, want) {
			t.Errorf("the command's flags lack %q:\n%s", want, own)
		}
	}
	if strings.Contains(own, "--token") || !strings.Contains(global, "--token") || strings.Contains(global, "--from") {
		t.Errorf("global flags are not apart from the command's own:\n%s", help)
	}
	if !strings.Contains(help, "Example:\n  vssubs subscribers migrate --from") {
		t.Errorf("no example:\n%s", help)
	}
}
