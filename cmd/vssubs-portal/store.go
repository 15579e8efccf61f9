package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store/sqlstore"
)

// openStore opens the state -db names, emptied first with -reset.
func openStore(ctx context.Context, dsn string, reset bool) (*sqlstore.Store, error) {
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("-db %s: %w", dsn, err)
	}
	if reset {
		if err := st.Reset(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// snapshot is "vssubs-portal snapshot [-db FILE] COPY": a consistent copy of a SQLite
// state, taken while a server may be running on it; serve the copy with -db COPY.
func snapshot(ctx context.Context, args []string, errOut io.Writer) error {
	fs := flag.NewFlagSet("vssubs-portal snapshot", flag.ContinueOnError)
	fs.SetOutput(errOut)
	db := fs.String("db", "vssubs-portal.db", "the SQLite file to copy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: vssubs-portal snapshot [-db FILE] COPY")
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("-db %s: %w", *db, err)
	}
	st, err := sqlstore.OpenSQLite(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Snapshot(ctx, fs.Arg(0))
}

// recentNotifications is how many notifications /dev/notifications keeps.
const recentNotifications = 256

// ring is the server's Notifier: it logs each notification and keeps the latest few for
// /dev/notifications, so memory stays bounded however long the server runs.
type ring struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    []vssubs.Notification
	next   int
	full   bool
}

func newRing(n int, logger *slog.Logger) *ring {
	return &ring{logger: logger, buf: make([]vssubs.Notification, n)}
}

// Notify logs n, with the recipient masked, and keeps it.
func (r *ring) Notify(ctx context.Context, n vssubs.Notification) error {
	r.logger.LogAttrs(ctx, slog.LevelInfo, "notification", slog.String("id", n.ID), slog.String("kind", string(n.Kind)),
		slog.String("to", vssubs.MaskEmail(n.To)), slog.String("agreement", n.AgreementID))
	r.mu.Lock()
	r.buf[r.next] = n
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
	r.mu.Unlock()
	return nil
}

// recent returns the kept notifications, oldest first.
func (r *ring) recent() []vssubs.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]vssubs.Notification(nil), r.buf[:r.next]...)
	}
	return append(append([]vssubs.Notification(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// ServeHTTP lists the latest notifications as JSON, for looking.
func (r *ring) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": r.recent()})
}

// seedFile is what -seed loads: orders placed by partners, each optionally with partners
// who register on it and subscribers the first of them adds.
type seedFile struct {
	Orders []seedOrder `json:"orders"`
}

type seedOrder struct {
	PlacedBy string `json:"placed_by"`
	vssubs.OrderRequest
	Partners    []string                 `json:"partners,omitempty"`
	Subscribers []vssubs.SubscriberInput `json:"subscribers,omitempty"`
}

// seed loads a seed file through the portal's own rules into an empty state; a state
// that holds any agreement is left as it is (start with -reset to load the file again).
func seed(ctx context.Context, p *portal.Portal, st *sqlstore.Store, path string, logger *slog.Logger) error {
	empty, err := st.Empty(ctx)
	if err != nil {
		return err
	}
	if !empty {
		logger.Info("seed skipped: the state is not empty (start with -reset to load it again)", slog.String("seed", path))
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-seed: %w", err)
	}
	var f seedFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("-seed %s: %w", path, err)
	}
	for i, o := range f.Orders {
		if o.PlacedBy == "" {
			return fmt.Errorf("-seed %s: orders[%d].placed_by is required", path, i)
		}
		seller, err := p.Client(o.PlacedBy)
		if err != nil {
			return err
		}
		order, err := seller.Orders.Place(ctx, o.OrderRequest)
		if err != nil {
			return fmt.Errorf("-seed %s: orders[%d]: %w", path, i, err)
		}
		form := vssubs.OpenLicenseForm{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber, CustomerEmail: order.CustomerEmail, AcceptTerms: true}
		for j, partner := range o.Partners {
			c, err := p.Client(partner)
			if err != nil {
				return err
			}
			if _, err := c.Partners.Register(ctx, form); err != nil {
				return fmt.Errorf("-seed %s: orders[%d].partners[%d]: %w", path, i, j, err)
			}
		}
		if len(o.Subscribers) > 0 {
			adder := order.CustomerEmail
			c, err := p.Client(adder)
			if err != nil {
				return err
			}
			for j, in := range o.Subscribers {
				if _, err := c.Subscribers.Add(ctx, order.AgreementID, in); err != nil {
					return fmt.Errorf("-seed %s: orders[%d].subscribers[%d]: %w", path, i, j, err)
				}
			}
		}
		logger.Info("seeded", slog.String("agreement", order.AgreementID), slog.String("license", order.LicenseNumber))
	}
	return nil
}
