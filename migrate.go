package vssubs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MigrateOptions chooses the subscribers Migrate moves, and whether it only plans.
type MigrateOptions struct {
	// Filter selects the subscribers of the old agreement to move; the zero value moves
	// all of them.
	Filter SubscriberFilter
	// DryRun returns the plan and changes nothing.
	DryRun bool
}

// MigrateResult is what Migrate did, or on a dry run what it would do.
type MigrateResult struct {
	// Key is the idempotency key the migration ran under: calling Migrate again with
	// WithIdempotencyKey(Key) resumes it.
	Key string `json:"idempotency_key"`
	// Copy are the subscribers of the old agreement added to the new one, in one bulk
	// add; BulkID is that bulk add, empty when there was nothing to copy.
	Copy   []Subscriber `json:"copy"`
	BulkID string       `json:"bulk_id,omitempty"`
	// Remove are the subscribers removed from the old agreement: every one selected,
	// each now on the new agreement with its email and level.
	Remove []Subscriber `json:"remove"`
	DryRun bool         `json:"dry_run"`
}

// Migrate moves subscribers from one agreement to another, as Microsoft documents it
// (export, copy into the template, upload, remove from the old agreement) but in one
// call: the selected subscribers of from are added to to in one all-or-nothing bulk add,
// then removed from from.
//
// A subscriber is only ever removed from from once it is on to, so a failure at any
// point never leaves anyone on neither agreement. Calling Migrate again with the same
// WithIdempotencyKey resumes the migration: subscribers already on to with the same
// email and level are not copied again, only removed from from. When no key is given,
// one is made; every error names it, and MigrateResult.Key holds it. A selected
// subscriber whose email is already on to at another level is a *ValidationError, and
// rows the new agreement refuses (such as a level it has no seats of) a *BulkError,
// both before anything changes.
func (s *SubscribersService) Migrate(ctx context.Context, from, to string, o MigrateOptions, opts ...CallOption) (*MigrateResult, error) {
	var fe fieldErrors
	if strings.TrimSpace(from) == "" {
		fe.add("from", "is required")
	}
	if strings.TrimSpace(to) == "" {
		fe.add("to", "is required")
	}
	if from == to && from != "" {
		fe.add("to", "must be another agreement than from")
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	cc := callOptions(opts)
	if cc.noKey {
		fe.add("idempotency_key", "a migration needs one, to resume after a failure: leave out WithoutIdempotencyKey")
		return nil, fe.err()
	}
	key := cc.idempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	// Every request gets the caller's options (such as WithCallRetry), and a key of
	// its own derived from the migration's.
	withKey := func(k string) []CallOption { return append(slices.Clip(opts), WithIdempotencyKey(k)) }
	res := &MigrateResult{Key: key, DryRun: o.DryRun}
	stopped := func(err error) error {
		return fmt.Errorf("vssubs: migration stopped; call it again with the idempotency key %q to resume: %w", key, err)
	}
	moving, err := Collect(s.List(ctx, from, o.Filter))
	if err != nil {
		return nil, stopped(err)
	}
	onTarget := map[string]Level{}
	for sub, err := range s.List(ctx, to, SubscriberFilter{}) {
		if err != nil {
			return nil, stopped(err)
		}
		onTarget[sub.Email] = sub.Level
	}
	for _, sub := range moving {
		level, there := onTarget[sub.Email]
		switch {
		case !there:
			res.Copy = append(res.Copy, sub)
		case level != sub.Level:
			fe.add(FieldEmail, fmt.Sprintf("%s is already on the new agreement as %s, not %s", MaskEmail(sub.Email), level, sub.Level))
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	res.Remove = moving
	if o.DryRun {
		return res, nil
	}
	if len(res.Copy) > 0 {
		// Until the bulk add commits, a resumed call computes the same rows and so
		// continues the same bulk session; after it, nothing is left to copy.
		rows := make([]BulkRow, len(res.Copy))
		for i, sub := range res.Copy {
			rows[i] = BulkRow{Row: i + 1, SubscriberInput: sub.SubscriberInput}
		}
		out, err := s.BulkAdd(ctx, to, BulkAddRequest{Rows: rows}, withKey(key+"/copy")...)
		var refused *BulkError
		if errors.As(err, &refused) {
			// All or nothing: nobody moved, and the same key would be refused the same
			// way, so there is nothing to resume.
			return nil, err
		}
		if err != nil {
			return nil, stopped(err)
		}
		res.BulkID = out.BulkID
	}
	for i := 0; i < len(moving); i += MaxRemoveBatch {
		batch := moving[i:min(i+MaxRemoveBatch, len(moving))]
		ids := make([]string, len(batch))
		for j, sub := range batch {
			ids[j] = sub.ID
		}
		// A batch's key comes from its ids: a resumed call lists only the subscribers
		// still on from, so its batches differ from the first call's and need keys of
		// their own, while a retried batch keeps its key.
		sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
		if _, err := s.Remove(ctx, from, ids, withKey(key+"/remove/"+hex.EncodeToString(sum[:8]))...); err != nil {
			return nil, stopped(err)
		}
	}
	return res, nil
}
