package vssubs

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A failed chunk cancels the chunks in flight, and they fail too; what the caller gets
// back is the failure, never one of its echoes, whichever reaches the results first.
// (Under -race, as CI runs it, an echo comes first in most rounds.)
func TestUploadChunksReturnsTheFailureNotTheCancellationsItCaused(t *testing.T) {
	refused := errors.New("chunk 0 refused")
	for range 200 {
		var inFlight sync.WaitGroup
		inFlight.Add(3)
		err := uploadChunks(t.Context(), 4, 4, func(ctx context.Context, i int) (int, error) {
			if i == 0 {
				inFlight.Wait() // the others are uploading when this one fails
				return 0, refused
			}
			inFlight.Done()
			for ctx.Err() == nil {
				runtime.Gosched() // spinning, so the cancellation is seen at once
			}
			return 0, ctx.Err()
		}, func(int) {})
		if !errors.Is(err, refused) {
			t.Fatalf("want the refusal, got %v", err)
		}
	}
}

// The caller's own cancellation is what it gets back, and a batch that went up in full
// reports every row once, in order.
func TestUploadChunksReportsProgressAndTheCallersCancellation(t *testing.T) {
	var got []int
	err := uploadChunks(t.Context(), 5, 2, func(context.Context, int) (int, error) { return 10, nil }, func(done int) { got = append(got, done) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{10, 20, 30, 40, 50}, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := uploadChunks(ctx, 5, 2, func(ctx context.Context, _ int) (int, error) { return 0, ctx.Err() }, func(int) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled caller: want context.Canceled, got %v", err)
	}
}
