package portal_test

import (
	"context"
	"errors"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// A repeated Idempotency-Key is answered from the store only while the caller may still
// perform the operation: after the customer removed the partner, its pre-removal writes
// repeated with their keys get today's refusal, not the old success.
func TestAReplayReauthorizes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// registered says whether the partner registers before the write.
		registered bool
		// write makes the call under key as the scenario's partner.
		write func(s *vssubstest.Scenario, key string) error
	}{
		{"adding a subscriber", true, func(s *vssubstest.Scenario, key string) error {
			_, err := s.Partner.Subscribers.Add(ctx, s.Order.AgreementID, ada(), vssubs.WithIdempotencyKey(key))
			return err
		}},
		{"the registration that granted the access", false, func(s *vssubstest.Scenario, key string) error {
			_, err := s.Partner.Partners.Register(ctx, s.Form(), vssubs.WithIdempotencyKey(key))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := vssubstest.NewPortal(t)
			s := p.OrderPlaced()
			const key = "replay-after-removal"
			if tt.registered {
				if _, err := s.Partner.Partners.Register(ctx, s.Form()); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.write(s, key); err != nil {
				t.Fatal(err)
			}
			// The same key and body, before the removal: the first answer again.
			if err := tt.write(s, key); err != nil {
				t.Fatalf("a repeat while the partner has access: %v", err)
			}
			me, err := s.Partner.Partners.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Customer.Access.RemovePartner(ctx, s.Order.AgreementID, me.ID); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(s, key); !errors.Is(err, vssubs.ErrAccessRemoved) {
				t.Errorf("the repeat after the removal: %v, want ErrAccessRemoved", err)
			}
		})
	}
}
