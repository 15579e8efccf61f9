package portal

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Wrong authorization/license combinations are counted twice, so that guessing pays
// neither from one identity nor from many:
//   - per caller (LockoutPolicy): five wrong within 15 minutes lock that caller's
//     registrations for 15 minutes, as the licensing centre does;
//   - per license number named (LicenseLockoutPolicy), whoever submits: a higher
//     threshold, then a short pause that doubles each time the license is paused again,
//     up to a cap, and resets when someone submits the right combination. A pause stops
//     the guessing on that license without counting anything, and the genuine partner
//     waits at most MaxPause for the current pause: the license is never locked for good.

// LicenseLockoutPolicy is how many wrong combinations naming one license number, from any
// caller, may come within Window before registrations on that license pause. The first
// pause lasts FirstPause; each pause while the license keeps drawing wrong guesses doubles
// it, up to MaxPause. A right combination, or a Window without a pause, starts over.
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

// licensePause is one license's lockout: when its pause ends, and how long the last was.
type licensePause struct {
	until time.Time
	last  time.Duration
}

// wrongNumbers records a wrong combination against the caller and the license number it
// named, and answers it; the same answer whichever field was wrong, so the form cannot be
// used to probe orders. It must be called with the state lock held.
func (p *Portal) wrongNumbers(caller, license string, now time.Time) error {
	pol := p.cfg.lockout
	recent := slices.DeleteFunc(p.st.failures[caller], func(t time.Time) bool { return now.Sub(t) >= pol.Window })
	recent = append(recent, now)
	p.st.failures[caller] = recent
	if len(recent) >= pol.MaxFailures {
		p.st.lockedUntil[caller] = now.Add(pol.Duration)
		delete(p.st.failures, caller)
	}

	lp := p.cfg.licenseLockout
	p.sweepLockouts(now)
	lic := slices.DeleteFunc(p.st.licenseFailures[license], func(t time.Time) bool { return now.Sub(t) >= lp.Window })
	lic = append(lic, now)
	p.st.licenseFailures[license] = lic
	if len(lic) >= lp.MaxFailures {
		pause := lp.FirstPause
		if prev, ok := p.st.licensePauses[license]; ok && now.Sub(prev.until) < lp.Window {
			pause = min(prev.last*2, lp.MaxPause)
		}
		p.st.licensePauses[license] = licensePause{until: now.Add(pause), last: pause}
		delete(p.st.licenseFailures, license)
	}
	return apiError(http.StatusUnprocessableEntity, vssubs.CodeNoMatchingLicense,
		"no Open License matches this authorization number, license number and customer email")
}

// sweepLockouts forgets counts and pauses that no longer matter, at most once a minute,
// so wrong guesses at many license numbers cannot grow the state without bound.
func (p *Portal) sweepLockouts(now time.Time) {
	if !sweepDue(&p.st.lastLockoutSweep, now) {
		return
	}
	window := p.cfg.licenseLockout.Window
	for lic, ts := range p.st.licenseFailures {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= window {
			delete(p.st.licenseFailures, lic)
		}
	}
	for lic, lp := range p.st.licensePauses {
		if now.Sub(lp.until) >= window {
			delete(p.st.licensePauses, lic)
		}
	}
	for who, ts := range p.st.failures {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= p.cfg.lockout.Window {
			delete(p.st.failures, who)
		}
	}
}

// rightNumbers clears the counts a right combination proves were not the caller's or the
// license's attackers'. It must be called with the state lock held.
func (p *Portal) rightNumbers(caller, license string) {
	delete(p.st.failures, caller)
	delete(p.st.licenseFailures, license)
	delete(p.st.licensePauses, license)
}

// checkLockout refuses a locked caller, telling it how long to wait.
func (p *Portal) checkLockout(caller string, now time.Time) error {
	until, ok := p.st.lockedUntil[caller]
	if !ok {
		return nil
	}
	if !now.Before(until) {
		delete(p.st.lockedUntil, caller)
		return nil
	}
	return lockedOut(until.Sub(now), "too many wrong authorization and license numbers: registration is locked for ")
}

// checkLicensePause refuses registrations on a paused license number, telling the
// caller how long the pause lasts.
func (p *Portal) checkLicensePause(license string, now time.Time) error {
	lp, ok := p.st.licensePauses[license]
	if !ok || !now.Before(lp.until) {
		if ok && now.Sub(lp.until) >= p.cfg.licenseLockout.Window {
			delete(p.st.licensePauses, license)
		}
		return nil
	}
	return lockedOut(lp.until.Sub(now), "too many wrong combinations name this license number: registrations on it pause for ")
}

func lockedOut(wait time.Duration, msg string) error {
	wait = wait.Round(time.Second)
	e := apiError(http.StatusLocked, vssubs.CodeLockedOut, msg+wait.String())
	e.RetryAfter = max(wait, time.Second)
	return e
}
