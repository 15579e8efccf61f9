package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
)

// DeliveryPolicy says how the portal's outbox hands notifications to its Notifier: how
// often it tries, how long it waits between tries, and how many it sends at once.
type DeliveryPolicy struct {
	// MaxAttempts is how many times a notification is tried before it goes to dead-letter.
	MaxAttempts int
	// Backoff returns how long to wait before the next try, after the given number of
	// failed tries (1, 2, ...). Zero retries at once.
	Backoff func(failures int) time.Duration
	// AttemptTimeout bounds one call to the Notifier, so a hung server cannot stall delivery.
	AttemptTimeout time.Duration
	// Workers is how many notifications are handed to the Notifier at the same time. With
	// one worker (the default) notifications arrive in the order they were produced, unless
	// a retry reorders them.
	Workers int
}

// DefaultDeliveryPolicy tries each notification 8 times over about four minutes
// (exponential backoff from 1s, capped at 2 minutes), 30s per try, one at a time.
func DefaultDeliveryPolicy() DeliveryPolicy {
	return DeliveryPolicy{MaxAttempts: 8, Backoff: ExponentialBackoff(time.Second, 2*time.Minute), AttemptTimeout: 30 * time.Second, Workers: 1}
}

// ExponentialBackoff waits base after the first failure, doubling after each further one
// up to limit, with jitter so that many retries do not fire together.
func ExponentialBackoff(base, limit time.Duration) func(failures int) time.Duration {
	return func(failures int) time.Duration {
		d := base
		for i := 1; i < failures && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		if d <= 1 {
			return d
		}
		return d/2 + rand.N(d/2)
	}
}

// WithDelivery sets how the outbox retries notifications (see DeliveryPolicy).
func WithDelivery(dp DeliveryPolicy) Option {
	return func(c *config) error {
		switch {
		case dp.MaxAttempts < 1:
			return fmt.Errorf("portal: WithDelivery: MaxAttempts must be at least 1, got %d", dp.MaxAttempts)
		case dp.Backoff == nil:
			return errors.New("portal: WithDelivery: Backoff must not be nil")
		case dp.AttemptTimeout <= 0:
			return fmt.Errorf("portal: WithDelivery: AttemptTimeout must be positive, got %v", dp.AttemptTimeout)
		case dp.Workers < 1 || dp.Workers > 256:
			return fmt.Errorf("portal: WithDelivery: Workers must be within 1..256, got %d", dp.Workers)
		}
		c.delivery = dp
		return nil
	}
}

// DeadLetter is a notification the outbox gave up on, kept until it is retried.
type DeadLetter struct {
	Notification vssubs.Notification
	// Attempts is how many times delivery was tried.
	Attempts int
	// LastError is why the last try failed.
	LastError string
	// DeadAt is when the outbox gave up.
	DeadAt time.Time
}

// ErrClosed reports that the portal was closed: its outbox no longer delivers.
var ErrClosed = errors.New("portal: closed")

// ErrNoDeadLetter reports that no dead-lettered notification has the id given.
var ErrNoDeadLetter = errors.New("portal: no dead-lettered notification with this id")

// DeadLetters lists the notifications the outbox gave up on, oldest first.
func (p *Portal) DeadLetters() []DeadLetter {
	o := p.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]DeadLetter, 0, len(o.dead))
	for _, e := range o.dead {
		out = append(out, DeadLetter{Notification: e.n, Attempts: e.attempts, LastError: e.lastErr, DeadAt: e.deadAt})
	}
	return out
}

// RetryDeadLetter puts the dead-lettered notification with id back in the outbox, with a
// fresh count of attempts and the same id, so receivers still deduplicate it.
func (p *Portal) RetryDeadLetter(id string) error {
	o := p.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	i := slices.IndexFunc(o.dead, func(e *envelope) bool { return e.n.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNoDeadLetter, id)
	}
	e := o.dead[i]
	o.dead = slices.Delete(o.dead, i, i+1)
	e.attempts, e.lastErr = 0, ""
	o.push(e)
	return nil
}

// Close stops the outbox's workers and waits for them to exit. A notification not yet
// delivered goes to dead-letter rather than being lost; call Flush first to deliver
// everything. Operations after Close still succeed, and their notifications are
// dead-lettered.
func (p *Portal) Close() error {
	o := p.outbox
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	for e, t := range o.timers {
		if t.Stop() {
			delete(o.timers, e)
			o.kill(e, ErrClosed)
			o.wg.Done()
		}
	}
	for _, e := range o.ready {
		o.kill(e, ErrClosed)
	}
	o.ready = nil
	o.cond.Broadcast()
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
	return nil
}

// deliver hands the notifications of one request to the outbox. It never blocks on the
// Notifier: the portal's operations succeed whatever state the Notifier is in.
func (p *Portal) deliver(ctx context.Context, notes []vssubs.Notification) {
	p.outbox.enqueue(ctx, notes)
}

// envelope is one notification in the outbox, with its delivery history.
type envelope struct {
	n        vssubs.Notification
	seq      uint64 // order of entry, so Flush knows what was queued before it
	attempts int
	lastErr  string
	deadAt   time.Time
	// origin carries the producing request's trace to the deliveries, with an Observer.
	origin context.Context
}

// outbox delivers notifications at least once: each one is tried until the Notifier
// accepts it or the policy's attempts are spent, and then it is dead-lettered, never
// dropped. Every envelope is in exactly one place: ready, timers, in a worker's hands, or
// dead (or delivered and forgotten).
type outbox struct {
	notifier vssubs.Notifier
	policy   DeliveryPolicy
	logger   *slog.Logger
	obs      Observer // nil without one
	now      func() time.Time
	ctx      context.Context // cancelled by Close, to abandon tries in flight
	cancel   context.CancelFunc

	mu        sync.Mutex
	cond      *sync.Cond // signalled when ready grows or the outbox closes
	ready     []*envelope
	timers    map[*envelope]*time.Timer // envelopes waiting out a backoff
	dead      []*envelope
	unsettled map[uint64]struct{} // seqs neither delivered nor dead-lettered
	order     []uint64            // seqs in the order they were given, settled ones trimmed from the front
	seq       uint64
	settled   chan struct{} // closed and replaced each time an envelope settles
	started   bool
	closed    bool
	wg        sync.WaitGroup // workers and pending backoff timers
}

func newOutbox(cfg config) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	o := &outbox{
		notifier: cfg.notifier, policy: cfg.delivery, logger: cfg.logger, obs: cfg.observer, now: cfg.now,
		ctx: ctx, cancel: cancel,
		timers: map[*envelope]*time.Timer{}, unsettled: map[uint64]struct{}{}, settled: make(chan struct{}),
	}
	o.cond = sync.NewCond(&o.mu)
	return o
}

func (o *outbox) enqueue(ctx context.Context, notes []vssubs.Notification) {
	if len(notes) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range notes {
		e := &envelope{n: n}
		if o.obs != nil {
			e.origin = origin(ctx)
		}
		if o.closed {
			o.seq++
			e.seq = o.seq
			o.kill(e, ErrClosed)
			continue
		}
		o.push(e)
	}
}

// push queues e for a worker under a new seq, starting the workers on first use so an
// idle portal runs no goroutines. The lock must be held.
func (o *outbox) push(e *envelope) {
	o.seq++
	e.seq = o.seq
	o.unsettled[e.seq] = struct{}{}
	o.order = append(o.order, e.seq)
	o.ready = append(o.ready, e)
	if o.obs != nil {
		o.obs.OutboxDepth(1)
	}
	if !o.started {
		o.started = true
		o.wg.Add(o.policy.Workers)
		for range o.policy.Workers {
			go o.work()
		}
	}
	o.cond.Signal()
}

func (o *outbox) work() {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		for len(o.ready) == 0 && !o.closed {
			o.cond.Wait()
		}
		if o.closed {
			o.mu.Unlock()
			return
		}
		e := o.ready[0]
		o.ready = o.ready[1:]
		o.mu.Unlock()
		o.attempt(e)
	}
}

// attempt tries e once, then settles it or schedules the next try.
func (o *outbox) attempt(e *envelope) {
	if e.n.Subject == "" {
		if err := render(&e.n); err != nil {
			// The templates are fixed and tested for every kind, so this is a bug in the
			// portal: the notification is kept in dead-letter, never dropped.
			o.mu.Lock()
			defer o.mu.Unlock()
			e.attempts++
			e.lastErr = err.Error()
			o.logger.Error("notification not rendered", slog.String("id", e.n.ID), slog.String("kind", string(e.n.Kind)), slog.String("error", e.lastErr))
			o.kill(e, err)
			return
		}
	}
	ctx := withOrigin(o.ctx, e.origin)
	if o.obs != nil {
		ctx = o.obs.StartDelivery(ctx, e.n.Kind, e.attempts+1)
	}
	err := o.call(ctx, e.n)
	o.mu.Lock()
	defer o.mu.Unlock()
	e.attempts++
	if err == nil {
		o.settle(e)
		o.endDelivery(ctx, e, nil, false)
		return
	}
	e.lastErr = err.Error()
	o.logger.LogAttrs(ctx, slog.LevelWarn, "notification not delivered", slog.String("id", e.n.ID), slog.String("kind", string(e.n.Kind)),
		slog.Int("attempt", e.attempts), slog.String("error", e.lastErr))
	dead := true
	switch {
	case o.closed:
		o.kill(e, fmt.Errorf("%w; last try: %s", ErrClosed, e.lastErr))
	case e.attempts >= o.policy.MaxAttempts:
		o.kill(e, nil)
	default:
		dead = false
		o.retryLater(e, o.policy.Backoff(e.attempts))
	}
	o.endDelivery(ctx, e, err, dead)
}

func (o *outbox) endDelivery(ctx context.Context, e *envelope, err error, dead bool) {
	if o.obs != nil {
		o.obs.EndDelivery(ctx, e.n.Kind, e.attempts, err, dead)
	}
}

// call hands n to the Notifier within the policy's timeout; a panicking Notifier counts
// as a failed try rather than taking the portal down.
func (o *outbox) call(ctx context.Context, n vssubs.Notification) (err error) {
	ctx, cancel := context.WithTimeout(ctx, o.policy.AttemptTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("notifier panicked: %v", r)
		}
	}()
	return o.notifier.Notify(ctx, n)
}

// retryLater puts e back in ready after d. The lock must be held.
func (o *outbox) retryLater(e *envelope, d time.Duration) {
	if d <= 0 {
		o.ready = append(o.ready, e)
		o.cond.Signal()
		return
	}
	o.wg.Add(1)
	o.timers[e] = time.AfterFunc(d, func() {
		defer o.wg.Done()
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.timers, e)
		if o.closed {
			o.kill(e, ErrClosed)
			return
		}
		o.ready = append(o.ready, e)
		o.cond.Signal()
	})
}

// kill moves e to dead-letter, recording cause when it is not nil. The lock must be held.
func (o *outbox) kill(e *envelope, cause error) {
	if cause != nil {
		e.lastErr = cause.Error()
	}
	e.deadAt = o.now().UTC()
	o.dead = append(o.dead, e)
	ctx := withOrigin(o.ctx, e.origin)
	o.logger.LogAttrs(ctx, slog.LevelError, "notification dead-lettered", slog.String("id", e.n.ID), slog.String("kind", string(e.n.Kind)),
		slog.Int("attempts", e.attempts), slog.String("error", e.lastErr))
	if o.obs != nil {
		o.obs.DeadLetter(ctx, e.n.Kind)
	}
	o.settle(e)
}

// settle records that e reached an end (delivered or dead) and wakes Flush. The lock must
// be held.
func (o *outbox) settle(e *envelope) {
	if _, queued := o.unsettled[e.seq]; queued && o.obs != nil {
		o.obs.OutboxDepth(-1)
	}
	delete(o.unsettled, e.seq)
	close(o.settled)
	o.settled = make(chan struct{})
}

// oldestUnsettled returns the smallest seq not yet settled, or the maximum uint64 when all
// are. Trimming settled seqs from the front keeps it amortised O(1). The lock must be held.
func (o *outbox) oldestUnsettled() uint64 {
	for len(o.order) > 0 {
		if _, ok := o.unsettled[o.order[0]]; ok {
			return o.order[0]
		}
		o.order = o.order[1:]
	}
	return math.MaxUint64
}

// flush waits until every envelope queued before the call has settled, or ctx ends.
func (o *outbox) flush(ctx context.Context) error {
	o.mu.Lock()
	target := o.seq
	for {
		if o.oldestUnsettled() > target {
			o.mu.Unlock()
			return nil
		}
		ch := o.settled
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		o.mu.Lock()
	}
}

// render writes n's subject, text and HTML in its language from its data, once, before
// the first try.
func render(n *vssubs.Notification) error {
	subject, text, err := notifier.Render(n.Kind, n.Language, n.Data)
	if err != nil {
		return err
	}
	html, err := notifier.RenderHTML(n.Kind, n.Language, n.Data)
	if err != nil {
		return err
	}
	n.Subject, n.Text, n.HTML = subject, text, html
	return nil
}
