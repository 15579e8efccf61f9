package redisvssubs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vssubs/vssubs-go/internal/redistest"
)

// Every process on one key takes the next slot of one schedule: reservations from two
// limiters interleave at the rate, not at twice it. The script is run without sleeping,
// so the waits it hands out are the schedule itself. The interval is a second so that a
// slow machine never lets the schedule fall behind Redis's clock between two calls,
// which would restart it and void the arithmetic below.
func TestLimitersOnOneKeyShareOneSchedule(t *testing.T) {
	srv := redistest.Start(t)
	const interval = time.Second
	a, err := NewLimiter(srv.Client(t), "tenant-a", 1, 2, WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLimiter(srv.Client(t), "tenant-a", 1, 2, WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewLimiter(srv.Client(t), "tenant-b", 1, 2, WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var firstStart, firstEnd time.Time
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		before := time.Now()
		_, wait, err := run(ctx, l.rdb, l.timeout, l.key, l.interval, l.tau, -1)
		after := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstStart, firstEnd = before, after
		}
		// A burst of 2: slots 0 and 1 are free, slot i waits (i-1) intervals after the
		// first reservation, less the time Redis's clock moved since, which the local
		// clock brackets.
		due := time.Duration(i-1) * interval
		hi, lo := max(due-before.Sub(firstEnd), 0), max(due-after.Sub(firstStart), 0)
		if wait > hi+time.Millisecond || wait < lo-time.Millisecond {
			t.Errorf("reservation %d waits %v, want within [%v, %v]", i, wait, lo, hi)
		}
	}
	if _, wait, err := run(ctx, other.rdb, other.timeout, other.key, other.interval, other.tau, -1); err != nil || wait != 0 {
		t.Errorf("another key's first reservation waits %v (err %v), want 0: keys must not share", wait, err)
	}
}

// A caller whose deadline comes before its slot gets an error at once and takes nothing:
// the next caller's wait is what it would have been.
func TestAWaitPastTheDeadlineReservesNothing(t *testing.T) {
	srv := redistest.Start(t)
	// One a second: a slow machine cannot let the schedule lapse between the calls.
	l, err := NewLimiter(srv.Client(t), "k", 1, 1, WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 { // the schedule is 2s ahead
		if _, _, err := run(ctx, l.rdb, l.timeout, l.key, l.interval, l.tau, -1); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a deadline before the slot = %v, want context.DeadlineExceeded", err)
	}
	_, wait, err := run(ctx, l.rdb, l.timeout, l.key, l.interval, l.tau, -1)
	if err != nil {
		t.Fatal(err)
	}
	if wait > 3*time.Second || wait < 2*time.Second {
		t.Errorf("after the refused wait, the next slot is %v away, want just under 3s (nothing taken)", wait)
	}
}

func TestBadLimiterSettingsAreRefused(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	tests := []struct {
		name  string
		key   string
		rate  float64
		burst int
		opts  []Option
	}{
		{"a zero rate", "k", 0, 1, nil},
		{"a negative burst", "k", 1, -1, nil},
		{"an empty key", "", 1, 1, nil},
		{"a zero timeout", "k", 1, 1, []Option{WithTimeout(0)}},
		{"a nil fallback", "k", 1, 1, []Option{WithFallback(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewLimiter(rdb, tt.key, tt.rate, tt.burst, tt.opts...); err == nil {
				t.Error("NewLimiter accepted it")
			}
		})
	}
}

// A fallback is for a Limiter: the portal falls back by itself, and a replay cache keeps
// a memory of its own.
func TestAFallbackIsRefusedWhereItDoesNotApply(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	fb := WithFallback(rateInf{})
	if _, err := NewRateStore(rdb, fb); err == nil {
		t.Error("NewRateStore accepted WithFallback")
	}
	if _, err := NewReplayCache(rdb, "r", nil, fb); err == nil {
		t.Error("NewReplayCache accepted WithFallback")
	}
	if _, err := NewRateStore(rdb, WithTimeout(-1)); err == nil {
		t.Error("NewRateStore accepted a negative timeout")
	}
}

type rateInf struct{}

func (rateInf) Wait(context.Context) error { return nil }
