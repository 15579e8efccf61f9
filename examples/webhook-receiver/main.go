// Command webhook-receiver is a partner back end's endpoint for vssubs notifications,
// written to be copied. It verifies every delivery (signature, timestamp, replay, size)
// and acts on it; above all, it stops managing an agreement the moment the customer
// removes the partner's access.
//
// Serve deliveries (the secret is the one given to notifier.NewWebhook):
//
//	VSSUBS_WEBHOOK_SECRET=... go run ./examples/webhook-receiver    # http://127.0.0.1:8090/vssubs/webhook
//
// During a secret rotation, also set VSSUBS_WEBHOOK_PREVIOUS_SECRET to the old secret.
// Or run the whole story in one process, with an embedded portal sending the webhooks:
//
//	go run ./examples/webhook-receiver -demo
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cmdline"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/webhook"
)

// webhookPath is where the receiver listens; give the portal this URL.
const webhookPath = "/vssubs/webhook"

// defaultAddr is where the receiver listens unless told otherwise: a port of its own,
// so it runs beside vssubs-portal (8080) on one machine.
const defaultAddr = "127.0.0.1:8090"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole program, returning its exit code as every vssubs program does:
// 0 on success and for -h or --version, 2 for a mistake on the command line or a
// missing secret, with the usage on stderr, and 1 for any other failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("webhook-receiver", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address to listen on")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "how far a delivery's timestamp may be from now")
	demo := fs.Bool("demo", false, "run the removal story against an embedded portal, then exit")
	err := cmdline.Parse(fs, args, stdout)
	if err == nil {
		if *demo {
			err = runDemo(ctx, stdout)
		} else {
			err = serve(ctx, *addr, *tolerance, slog.New(slog.NewTextHandler(stderr, nil)), getenv)
		}
	}
	return cmdline.Exit(stderr, fs.Name(), fs, err)
}

// serve runs the receiver with the secrets from the environment until ctx ends.
func serve(ctx context.Context, addr string, tolerance time.Duration, logger *slog.Logger, getenv func(string) string) error {
	secret := webhook.Secret{
		Current:  []byte(getenv("VSSUBS_WEBHOOK_SECRET")),
		Previous: []byte(getenv("VSSUBS_WEBHOOK_PREVIOUS_SECRET")),
	}
	if len(secret.Current) < webhook.MinSecretLen {
		return cmdline.Usagef("set VSSUBS_WEBHOOK_SECRET to the webhook secret (at least %d bytes), or run with -demo", webhook.MinSecretLen)
	}
	rc := newReceiver(secret, tolerance, logger, nil)
	mux := http.NewServeMux()
	mux.Handle("POST "+webhookPath, rc)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("receiving vssubs webhooks", slog.String("url", "http://"+addr+webhookPath))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// receiver verifies deliveries and keeps what the partner must know: the agreements it
// may no longer manage.
type receiver struct {
	secret    webhook.Secret
	tolerance time.Duration
	seen      webhook.ReplayCache
	logger    *slog.Logger
	// onRemoved is called once per agreement whose access was removed, as the webhook
	// arrives: the place to stop jobs, revoke cached tokens, and alert the account manager.
	onRemoved func(vssubs.Notification)

	mu      sync.Mutex
	removed map[string]vssubs.Notification // agreement id → the partner_removed notification
}

func newReceiver(secret webhook.Secret, tolerance time.Duration, logger *slog.Logger, onRemoved func(vssubs.Notification)) *receiver {
	return &receiver{
		secret: secret, tolerance: tolerance, logger: logger, onRemoved: onRemoved,
		seen:    webhook.NewMemoryReplayCache(nil),
		removed: map[string]vssubs.Notification{},
	}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := webhook.Verify(r, rc.secret, rc.tolerance, rc.seen)
	var we *webhook.Error
	switch {
	case errors.Is(err, webhook.ErrReplayed):
		// Handled before: 200 tells the portal to stop redelivering.
		w.WriteHeader(http.StatusOK)
		return
	case errors.As(err, &we):
		rc.logger.Warn("webhook refused", slog.String("error", err.Error()), slog.String("remote", r.RemoteAddr))
		http.Error(w, we.Reason.Error(), we.StatusCode())
		return
	case err != nil:
		rc.logger.Error("webhook receiver misconfigured", slog.String("error", err.Error()))
		http.Error(w, "receiver misconfigured", http.StatusInternalServerError)
		return
	}
	if err := rc.handle(n); err != nil {
		// Not handled: forget the id so the portal's redelivery is accepted.
		rc.seen.Forget(n.ID)
		rc.logger.Error("webhook not handled", slog.String("id", n.ID), slog.String("error", err.Error()))
		http.Error(w, "not handled, retry later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handle acts on one verified notification.
func (rc *receiver) handle(n vssubs.Notification) error {
	switch n.Kind {
	case vssubs.KindPartnerRemoved:
		if n.AgreementID == "" {
			return errors.New("partner_removed without an agreement id")
		}
		rc.mu.Lock()
		_, known := rc.removed[n.AgreementID]
		rc.removed[n.AgreementID] = n
		rc.mu.Unlock()
		rc.logger.Warn("customer removed our access", slog.String("agreement", n.AgreementID),
			slog.String("license", n.Data["license_number"]), slog.String("customer", n.Data["customer_name"]))
		if !known && rc.onRemoved != nil {
			rc.onRemoved(n)
		}
	default:
		rc.logger.Info("notification", slog.String("id", n.ID), slog.String("kind", string(n.Kind)), slog.String("agreement", n.AgreementID))
	}
	return nil
}

// accessRemoved reports whether the customer removed the partner from agreementID.
func (rc *receiver) accessRemoved(agreementID string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	_, ok := rc.removed[agreementID]
	return ok
}

// runDemo plays the story on an embedded portal whose notifications reach this receiver
// over a real loopback socket: a partner registers, the customer removes it, and the
// partner learns of it from the webhook.
func runDemo(ctx context.Context, w io.Writer) error {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	learned := make(chan vssubs.Notification, 1)
	rc := newReceiver(webhook.Secret{Current: secret}, time.Minute, slog.New(slog.DiscardHandler),
		func(n vssubs.Notification) { learned <- n })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+webhookPath, rc)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	url := "http://" + l.Addr().String() + webhookPath
	hook, err := notifier.NewWebhook(url, secret)
	if err != nil {
		return err
	}
	p, err := portal.New(portal.WithNotifier(hook))
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(w, "partner back end receiving webhooks at %s\n", url)

	const partner, customer = "alice@fabrikam-partners.com", "it-director@contoso.com"
	alice, _ := p.Client(partner)
	contoso, _ := p.Client(customer)
	order, err := alice.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customer, CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}},
	})
	if err != nil {
		return err
	}
	if _, err := alice.Partners.Register(ctx, vssubs.OpenLicenseForm{
		AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber, CustomerEmail: customer, AcceptTerms: true,
	}); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s manages agreement %s (license %s)\n", partner, order.AgreementID, order.LicenseNumber)

	partners, err := vssubs.Collect(contoso.Access.ListPartners(ctx, order.AgreementID))
	if err != nil || len(partners) != 1 {
		return fmt.Errorf("listing partners: %v (%d found)", err, len(partners))
	}
	if err := contoso.Access.RemovePartner(ctx, order.AgreementID, partners[0].PartnerID); err != nil {
		return err
	}
	fmt.Fprintf(w, "the customer removes %s\n", partner)

	select {
	case n := <-learned:
		fmt.Fprintf(w, "webhook %s: %s — access to agreement %s (license %s) removed by %s; automation on it stopped\n",
			n.ID, n.Kind, n.AgreementID, n.Data["license_number"], n.Data["customer_name"])
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	if dl := p.DeadLetters(); len(dl) != 0 {
		return fmt.Errorf("%d notifications could not be delivered; first: %s", len(dl), dl[0].LastError)
	}
	return nil
}
