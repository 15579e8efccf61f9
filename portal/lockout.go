package portal

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Wrong authorization/license combinations are counted twice, so that guessing pays
// neither from one identity nor from many:
//   - per caller (LockoutPolicy): five wrong within 15 minutes lock that caller's
//     registrations for 15 minutes, as the licensing centre does;
//   - per license number named (LicenseLockoutPolicy), whoever submits: a higher
//     threshold, then a short pause that doubles each time the license is paused again
//     within the window, up to a cap, and is forgotten when someone submits the right
//     combination. A pause stops the guessing on that license without counting anything,
//     and the genuine partner waits at most MaxPause for the current pause: the license
//     is never locked for good.
//
// Both counts are store.Lockout records. The license's are kept under keys no email can
// take (licenseKey, pausesKey), written under the license's own lock, so concurrent
// guesses from many callers are all counted.

// LicenseLockoutPolicy is how many wrong combinations naming one license number, from any
// caller, may come within Window before registrations on that license pause. The first
// pause lasts FirstPause; each further pause within Window of the previous one doubles
// it, up to MaxPause. A right combination starts over.
type LicenseLockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	FirstPause  time.Duration
	MaxPause    time.Duration
}

// DefaultLicenseLockoutPolicy pauses a license for 1 minute after 10 wrong combinations
// within an hour, doubling on each new pause up to 15 minutes.
func DefaultLicenseLockoutPolicy() LicenseLockoutPolicy {
	return LicenseLockoutPolicy{MaxFailures: 10, Window: time.Hour, FirstPause: time.Minute, MaxPause: 15 * time.Minute}
}

// WithLicenseLockout sets the per-license lockout policy.
func WithLicenseLockout(p LicenseLockoutPolicy) Option {
	return func(c *config) error {
		if p.MaxFailures < 1 || p.Window <= 0 || p.FirstPause <= 0 || p.MaxPause < p.FirstPause {
			return fmt.Errorf("portal: WithLicenseLockout: need MaxFailures >= 1, a positive Window and 0 < FirstPause <= MaxPause, got %+v", p)
		}
		c.licenseLockout = p
		return nil
	}
}

// licenseKey and pausesKey name a license's records among the callers' lockouts; an
// email never starts with "@".
func licenseKey(license string) string { return "@license/" + license }
func pausesKey(license string) string  { return "@license-pauses/" + license }

// licenseLock serializes the registration attempts naming one license number.
func licenseLock(license string) string { return store.CallerLock(licenseKey(license)) }

// matchLicense is the brute-force guard both registration forms share. It refuses a
// locked-out caller before anything else, even the input's problem (inputErr), then a
// paused license; admit, when set, may refuse the caller next. Then it finds the
// agreement of license and counts the combination: wrong when there is none or matches
// refuses it, right otherwise.
func (p *Portal) matchLicense(ctx context.Context, tx store.Tx, rq *request, license string, inputErr error, admit func() error, matches func(store.Agreement) bool) (store.Agreement, error) {
	if _, err := p.user(ctx, tx, rq.caller, rq.lang); err != nil {
		return store.Agreement{}, err
	}
	now := p.cfg.now()
	if err := p.checkLockout(ctx, tx, rq.caller, now); err != nil {
		return store.Agreement{}, err
	}
	if inputErr != nil {
		return store.Agreement{}, inputErr
	}
	if err := p.checkLicensePause(ctx, tx, license, now); err != nil {
		return store.Agreement{}, err
	}
	if admit != nil {
		if err := admit(); err != nil {
			return store.Agreement{}, err
		}
	}
	a, ok, err := tx.AgreementByLicense(ctx, license)
	if err != nil {
		return store.Agreement{}, err
	}
	if !ok || !matches(a) {
		return store.Agreement{}, p.wrongNumbers(ctx, tx, rq.caller, license, now)
	}
	return a, p.rightNumbers(ctx, tx, rq.caller, license)
}

// wrongNumbers records a wrong combination against the caller and the license number it
// named, and answers it; the same answer whichever field was wrong, so the form cannot be
// used to probe orders. The counts are kept though the request is refused.
func (p *Portal) wrongNumbers(ctx context.Context, tx store.Tx, caller, license string, now time.Time) error {
	pol := p.cfg.lockout
	if err := p.countFailure(ctx, tx, caller, pol.Window, pol.MaxFailures, now, func() (time.Duration, error) { return pol.Duration, nil }); err != nil {
		return err
	}
	lp := p.cfg.licenseLockout
	err := p.countFailure(ctx, tx, licenseKey(license), lp.Window, lp.MaxFailures, now, func() (time.Duration, error) {
		// The pauses started recently say how many times this license was paused in a
		// row, and so how long this pause lasts.
		pauses, err := tx.Lockout(ctx, pausesKey(license))
		if err != nil {
			return 0, err
		}
		recent := slices.DeleteFunc(pauses.Failures, func(t time.Time) bool { return now.Sub(t) >= lp.Window+lp.MaxPause })
		pause := lp.FirstPause << min(len(recent), 16)
		if pause > lp.MaxPause || pause <= 0 {
			pause = lp.MaxPause
		}
		return pause, tx.PutLockout(ctx, pausesKey(license), store.Lockout{Failures: append(recent, now)})
	})
	if err != nil {
		return err
	}
	return refusalAfterWrite{apiError(http.StatusUnprocessableEntity, vssubs.CodeNoMatchingLicense,
		"no Open License matches this authorization number, license number and customer email")}
}

// countFailure adds a failure to key's record and, at max within window, locks it for
// the duration lock returns.
func (p *Portal) countFailure(ctx context.Context, tx store.Tx, key string, window time.Duration, maxFailures int, now time.Time, lock func() (time.Duration, error)) error {
	l, err := tx.Lockout(ctx, key)
	if err != nil {
		return err
	}
	l.Failures = slices.DeleteFunc(l.Failures, func(t time.Time) bool { return now.Sub(t) >= window })
	l.Failures = append(l.Failures, now)
	if len(l.Failures) >= maxFailures {
		d, err := lock()
		if err != nil {
			return err
		}
		l.LockedUntil = now.Add(d)
		l.Failures = nil
		if p.cfg.observer != nil {
			p.cfg.observer.Lockout(ctx)
		}
	}
	return tx.PutLockout(ctx, key, l)
}

// rightNumbers clears the counts a right combination proves were no attack on the caller
// or on the license.
func (p *Portal) rightNumbers(ctx context.Context, tx store.Tx, caller, license string) error {
	for _, key := range []string{caller, licenseKey(license), pausesKey(license)} {
		l, err := tx.Lockout(ctx, key)
		if err != nil {
			return err
		}
		if !l.IsZero() {
			if err := tx.PutLockout(ctx, key, store.Lockout{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLockout refuses a locked caller, telling it how long to wait.
func (p *Portal) checkLockout(ctx context.Context, tx store.Tx, caller string, now time.Time) error {
	return p.checkLocked(ctx, tx, caller, now, "too many wrong authorization and license numbers: registration is locked for ")
}

// checkLicensePause refuses registrations on a paused license number, telling the caller
// how long the pause lasts.
func (p *Portal) checkLicensePause(ctx context.Context, tx store.Tx, license string, now time.Time) error {
	return p.checkLocked(ctx, tx, licenseKey(license), now, "too many wrong combinations name this license number: registrations on it pause for ")
}

func (p *Portal) checkLocked(ctx context.Context, tx store.Tx, key string, now time.Time, msg string) error {
	l, err := tx.Lockout(ctx, key)
	if err != nil || l.LockedUntil.IsZero() {
		return err
	}
	if !now.Before(l.LockedUntil) {
		l.LockedUntil = time.Time{}
		return tx.PutLockout(ctx, key, l)
	}
	wait := l.LockedUntil.Sub(now).Round(time.Second)
	e := apiError(http.StatusLocked, vssubs.CodeLockedOut, msg+wait.String())
	e.RetryAfter = max(wait, time.Second)
	return e
}
