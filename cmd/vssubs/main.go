// Command vssubs manages Visual Studio subscriptions sold on Open Licenses from scripts and
// terminals: orders, the three registration paths, partners, subscribers and admins.
// Run "vssubs help" for the commands and exit codes; configure it with VSSUBS_BASE_URL and
// VSSUBS_TOKEN or the matching flags.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/vssubs/vssubs-go/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
