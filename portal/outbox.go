package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal/store"
)

// DeliveryPolicy says how the portal's outbox hands notifications to its Notifier: how
// often it tries, how long it waits between tries, and how many it sends at once.
type DeliveryPolicy struct {
	// MaxAttempts is how many times a notification is tried before it goes to dead-letter.
	MaxAttempts int
	// Backoff returns how long to wait before the next try, after the given number of
	// failed tries (1, 2, ...). Zero retries at once.
	Backoff func(failures int) time.Duration
	// AttemptTimeout bounds one call to the Notifier, so a hung server cannot stall
	// delivery. A call gets at least 31/32 of it: a worker's calls share a deadline.
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
	envs, err := p.store.DeadLetters(context.Background())
	if err != nil {
		p.cfg.logger.Error("dead letters not read", slog.String("error", err.Error()))
	}
	out := make([]DeadLetter, 0, len(envs))
	for _, e := range envs {
		// Shown as delivered: rendered (an entry that cannot be rendered stays as it is).
		_ = notifier.RenderNotification(&e.Notification)
		out = append(out, DeadLetter{Notification: e.Notification, Attempts: e.Attempts, LastError: e.LastError, DeadAt: e.DeadAt})
	}
	return out
}

// RetryDeadLetter puts the dead-lettered notification with id back in the outbox, with a
// fresh count of attempts and the same id, so receivers still deduplicate it.
func (p *Portal) RetryDeadLetter(id string) error {
	if p.outbox.isClosed() {
		return ErrClosed
	}
	err := p.store.Revive(context.Background(), id, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", ErrNoDeadLetter, id)
	}
	if err == nil {
		p.outbox.committed(context.Background(), nil)
	}
	return err
}

// Close stops the outbox's workers and waits for them to exit, abandoning a try in flight.
// With a durable store what is not yet delivered stays in it, for the next start (or
// another instance) to deliver; with the memory store it goes to dead-letter rather than
// being lost silently. Operations after Close still succeed; their notifications wait in
// the store (or, in memory, are dead-lettered). A store opened by New is closed too.
func (p *Portal) Close() error {
	o := p.outbox
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
	o.buryIfVolatile()
	if p.ownStore {
		return p.store.Close()
	}
	return nil
}

// outbox delivers the store's notifications at least once: each one is tried until the
// Notifier accepts it or the policy's attempts are spent, and then it is dead-lettered,
// never dropped. Workers claim entries from the store for a lease, so workers of several
// portal processes sharing a database never hold the same one.
type outbox struct {
	store    store.Store
	notifier vssubs.Notifier
	policy   DeliveryPolicy
	logger   *slog.Logger
	now      func() time.Time
	ctx      context.Context // cancelled by Close, to abandon tries in flight
	cancel   context.CancelFunc
	kick     chan struct{} // a worker looks for due entries now
	obs      Observer      // nil means none

	mu      sync.Mutex
	settled chan struct{} // closed and replaced each time an entry settles
	// origins holds, with an Observer, the trace of the request that produced each
	// notification this process enqueued and has not yet settled, so its deliveries
	// continue that trace. Entries enqueued by another process are delivered untraced.
	origins map[string]context.Context
	started bool
	closed  bool
	wg      sync.WaitGroup
}

// claimBatch is how many entries a worker claims at once; it tries them in order.
const claimBatch = 16

// settleEvery is how often, at most, a worker trying a batch wakes Flush: after a try
// that ends settleEvery or more after the last wake, and after the batch. A Flush thus
// hears of a settled entry once the try after it ends, or the batch does. Waking it after
// every try cost a 10,000-row bulk add 6% (140 against 132 ms, interleaved).
const settleEvery = 10 * time.Millisecond

// pollInterval is how often an idle worker of a durable store looks for entries that
// other processes enqueued.
const pollInterval = 500 * time.Millisecond

func newOutbox(cfg config, st store.Store) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &outbox{
		store: st, notifier: cfg.notifier, policy: cfg.delivery, logger: cfg.logger, now: cfg.now, obs: cfg.observer, origins: map[string]context.Context{},
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1), settled: make(chan struct{}),
	}
}

func (o *outbox) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// start runs the workers, once; an idle memory portal runs no goroutines until its first
// notification.
func (o *outbox) start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started || o.closed {
		return
	}
	o.started = true
	o.wg.Add(o.policy.Workers)
	for range o.policy.Workers {
		go o.work()
	}
}

// committed tells the outbox that a transaction made in ctx added notes (or revived a
// dead letter, with notes nil).
func (o *outbox) committed(ctx context.Context, notes []vssubs.Notification) {
	if o.obs != nil && len(notes) > 0 {
		o.mu.Lock()
		for _, n := range notes {
			o.origins[n.ID] = origin(ctx)
		}
		o.mu.Unlock()
		o.obs.OutboxDepth(len(notes))
	}
	if o.isClosed() {
		o.buryIfVolatile()
		return
	}
	o.start()
	o.poke()
}

func (o *outbox) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// buryIfClosing dead-letters, for a memory store being closed, what was handed back.
func (o *outbox) buryIfClosing() {
	if o.ctx.Err() != nil {
		o.buryIfVolatile()
	}
}

// buryIfVolatile dead-letters what a closed memory store would otherwise lose.
func (o *outbox) buryIfVolatile() {
	if o.store.Durable() {
		return
	}
	if err := o.store.BuryUnsettled(context.Background(), ErrClosed.Error(), o.now().UTC()); err != nil {
		o.logger.Error("undelivered notifications not dead-lettered", slog.String("error", err.Error()))
	}
	o.settle()
}

func (o *outbox) lease() time.Duration { return o.policy.AttemptTimeout + 30*time.Second }

func (o *outbox) work() {
	defer o.wg.Done()
	tries := tryDeadlines{parent: o.ctx, timeout: o.policy.AttemptTimeout}
	defer tries.stop()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for o.ctx.Err() == nil {
		envs, next, err := o.store.ClaimDue(o.ctx, time.Now(), o.lease(), claimBatch)
		if err != nil && o.ctx.Err() == nil {
			o.logger.Error("outbox not read", slog.String("error", err.Error()))
		}
		if len(envs) > 0 {
			o.poke() // there may be more: let another worker look
			woke := time.Now()
			for _, e := range envs {
				if o.ctx.Err() != nil {
					// Closing: the rest go back, their lease released.
					_ = o.store.Retry(context.Background(), e.Notification.ID, e.Attempts, e.LastError, time.Now())
					continue
				}
				o.attempt(e, &tries)
				// Flush is woken after the batch, or sooner when its tries are slow: a bulk
				// add's thousands of notifications would otherwise wake it thousands of times.
				if time.Since(woke) >= settleEvery {
					o.settle()
					woke = time.Now()
				}
			}
			o.settle()
			o.buryIfClosing()
			continue
		}
		wait := time.Duration(-1)
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		if o.store.Durable() && (wait < 0 || wait > pollInterval) {
			wait = pollInterval
		}
		var tick <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tick = timer.C
		}
		select {
		case <-o.ctx.Done():
		case <-o.kick:
		case <-o.store.Wake():
		case <-tick:
		}
	}
}

// attempt tries e once, then settles it or schedules the next try; the caller wakes Flush.
func (o *outbox) attempt(e store.Envelope, tries *tryDeadlines) {
	n := e.Notification
	ctx := withOrigin(context.Background(), o.originOf(n.ID))
	if err := notifier.RenderNotification(&n); err != nil {
		// The templates are fixed and tested for every kind, so this is a bug in the
		// portal: the notification is kept in dead-letter, never dropped.
		o.logger.Error("notification not rendered", slog.String("id", n.ID), slog.String("kind", string(n.Kind)), slog.String("error", err.Error()))
		o.bury(ctx, e, e.Attempts+1, err.Error())
		return
	}
	attempts := e.Attempts + 1
	if o.obs != nil {
		ctx = o.obs.StartDelivery(ctx, n.Kind, attempts)
	}
	err := o.call(ctx, n, tries)
	if err == nil {
		o.endDelivery(ctx, n, attempts, nil, false)
		if err := o.store.Delivered(ctx, n.ID); err != nil {
			o.logger.ErrorContext(ctx, "delivered notification not settled: it may be sent again", slog.String("id", n.ID), slog.String("error", err.Error()))
		}
		o.forget(n.ID)
		return
	}
	o.endDelivery(ctx, n, attempts, err, o.ctx.Err() == nil && attempts >= o.policy.MaxAttempts)
	lastErr := err.Error()
	o.logger.WarnContext(ctx, "notification not delivered", slog.String("id", n.ID), slog.String("kind", string(n.Kind)),
		slog.Int("attempt", attempts), slog.String("error", lastErr))
	switch {
	case o.ctx.Err() != nil && !o.store.Durable():
		o.bury(ctx, e, attempts, fmt.Sprintf("%s; last try: %s", ErrClosed, lastErr))
	case o.ctx.Err() != nil:
		// Closing: the next start tries again, the attempt counted.
		_ = o.store.Retry(ctx, n.ID, attempts, lastErr, time.Now())
	case attempts >= o.policy.MaxAttempts:
		o.bury(ctx, e, attempts, lastErr)
	default:
		if err := o.store.Retry(ctx, n.ID, attempts, lastErr, time.Now().Add(o.policy.Backoff(attempts))); err != nil {
			o.logger.Error("notification not rescheduled", slog.String("id", n.ID), slog.String("error", err.Error()))
		}
	}
}

func (o *outbox) bury(ctx context.Context, e store.Envelope, attempts int, lastErr string) {
	if o.obs != nil {
		o.obs.DeadLetter(ctx, e.Notification.Kind)
	}
	defer o.forget(e.Notification.ID)
	o.logger.ErrorContext(ctx, "notification dead-lettered", slog.String("id", e.Notification.ID), slog.String("kind", string(e.Notification.Kind)),
		slog.Int("attempts", attempts), slog.String("error", lastErr))
	if err := o.store.Bury(ctx, e.Notification.ID, attempts, lastErr, o.now().UTC()); err != nil {
		o.logger.Error("notification not dead-lettered", slog.String("id", e.Notification.ID), slog.String("error", err.Error()))
	}
}

// call hands n to the Notifier within the policy's timeout; a panicking Notifier counts
// as a failed try rather than taking the portal down.
func (o *outbox) call(traced context.Context, n vssubs.Notification, tries *tryDeadlines) (err error) {
	// The try ends with Close (o.ctx) but carries the delivery's trace.
	ctx, cancel := tries.start()
	defer cancel()
	ctx = withOrigin(ctx, traced)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("notifier panicked: %v", r)
		}
	}()
	return o.notifier.Notify(ctx, n)
}

// tryDeadlines gives one worker's tries their contexts: each ends when the try returns,
// when the outbox closes, or at its deadline, as one from context.WithTimeout would. A
// timer per try, made and stopped 10,000 times, was a third of the time a bulk add's
// notifications took to deliver, so the tries a worker starts within a 32nd of the
// timeout share one deadline: a try has at least 31/32 of AttemptTimeout, never more.
// A worker's tries run one after the other, so a deadline is replaced only between them.
type tryDeadlines struct {
	parent  context.Context
	timeout time.Duration
	shared  context.Context // nil until the first try
	cancel  context.CancelFunc
}

// start returns the context of a try that starts now, and its end.
func (d *tryDeadlines) start() (context.Context, context.CancelFunc) {
	now := time.Now()
	if d.shared == nil || d.left(now) < d.timeout-d.timeout/32 {
		d.stop()
		d.shared, d.cancel = context.WithDeadline(d.parent, now.Add(d.timeout))
	}
	return context.WithCancel(d.shared)
}

// left is how long the shared deadline leaves a try that starts at now.
func (d *tryDeadlines) left(now time.Time) time.Duration {
	until, _ := d.shared.Deadline()
	return until.Sub(now)
}

// stop releases the shared deadline's timer.
func (d *tryDeadlines) stop() {
	if d.cancel != nil {
		d.cancel()
	}
}

// originOf returns the trace of the request that produced the notification id, if this
// process enqueued it.
func (o *outbox) originOf(id string) context.Context {
	if o.obs == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.origins[id]
}

// forget drops a settled notification's origin and counts it out of the outbox depth.
func (o *outbox) forget(id string) {
	if o.obs == nil {
		return
	}
	o.mu.Lock()
	_, mine := o.origins[id]
	delete(o.origins, id)
	o.mu.Unlock()
	if mine {
		o.obs.OutboxDepth(-1)
	}
}

func (o *outbox) endDelivery(ctx context.Context, n vssubs.Notification, attempts int, err error, dead bool) {
	if o.obs != nil {
		o.obs.EndDelivery(ctx, n.Kind, attempts, err, dead)
	}
}

// settle wakes Flush.
func (o *outbox) settle() {
	o.mu.Lock()
	close(o.settled)
	o.settled = make(chan struct{})
	o.mu.Unlock()
}

// flush waits until every entry enqueued before the call has settled, or ctx ends.
func (o *outbox) flush(ctx context.Context) error {
	target, err := o.store.LastSeq(ctx)
	if err != nil {
		return err
	}
	poll := time.NewTimer(pollInterval)
	defer poll.Stop()
	for {
		o.mu.Lock()
		ch := o.settled
		o.mu.Unlock()
		oldest, ok, err := o.store.OldestUnsettled(ctx)
		if err != nil {
			return err
		}
		if !ok || oldest > target {
			return nil
		}
		select {
		case <-ch:
		case <-poll.C: // settled by another process
			poll.Reset(pollInterval)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
