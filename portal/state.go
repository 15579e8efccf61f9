package portal

import (
	"fmt"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// state is everything the portal knows; every access holds Portal.mu.
type state struct {
	seq map[string]int // per id prefix

	users      map[string]*user      // by normalized email
	orders     map[string]*order     // by id
	agreements map[string]*agreement // by id
	byLicense  map[string]*agreement // by normalized license number
	// authByCustomer keeps one authorization number per customer, reused on reorders.
	authByCustomer map[string]string
	// issuedNumbers keeps every minted number so none is ever issued twice.
	issuedNumbers map[string]bool
	// vlsc is each principal's licensing-centre Relationship Summary, by license number.
	vlsc map[string]map[string]*relationship
	// failures are the times of each caller's wrong form submissions, oldest first.
	failures    map[string][]time.Time
	lockedUntil map[string]time.Time
}

func newState() state {
	return state{
		seq:            map[string]int{},
		users:          map[string]*user{},
		orders:         map[string]*order{},
		agreements:     map[string]*agreement{},
		byLicense:      map[string]*agreement{},
		authByCustomer: map[string]string{},
		issuedNumbers:  map[string]bool{},
		vlsc:           map[string]map[string]*relationship{},
		failures:       map[string][]time.Time{},
		lockedUntil:    map[string]time.Time{},
	}
}

// nextID mints a readable id with a per-kind counter: ord_000001, agr_000001.
func (s *state) nextID(prefix string) string {
	s.seq[prefix]++
	return fmt.Sprintf("%s_%06d", prefix, s.seq[prefix])
}

type user struct {
	ID       string
	Email    string
	Language vssubs.Language
}

// user returns the principal for email, creating it on first sight; lang, when set,
// becomes its notification language.
func (s *state) user(email string, lang vssubs.Language) *user {
	u, ok := s.users[email]
	if !ok {
		u = &user{ID: s.nextID("usr"), Email: email, Language: vssubs.LangEnglish}
		s.users[email] = u
	}
	if lang.Valid() {
		u.Language = lang
	}
	return u
}

type order struct {
	vssubs.Order
}

type agreement struct {
	ID                  string
	AuthorizationNumber string
	LicenseNumber       string
	CustomerEmail       string
	CustomerName        string
	PrimaryContactEmail string
	Lines               []vssubs.OrderLine
	CreatedAt           time.Time
	// roles are the customer's side: super admins and admins, by email.
	roles map[string]vssubs.Role
	// grants are partners' access, by partner email, kept after removal so that
	// removal is permanent.
	grants map[string]*grant
	// subs holds the agreement's subscribers, seats, usage history, admin details and
	// bulk sessions; see subscriptions().
	subs *subscriptions
}

type grant struct {
	PartnerID string
	Email     string
	Via       vssubs.GrantPath
	GrantedAt time.Time
	RemovedAt time.Time
}

func (g *grant) active() bool { return g.RemovedAt.IsZero() }

// roleOf returns email's role on the agreement, and whether a partner grant was removed.
func (a *agreement) roleOf(email string) (role vssubs.Role, removed bool) {
	if r, ok := a.roles[email]; ok {
		return r, false
	}
	if g, ok := a.grants[email]; ok {
		if g.active() {
			return vssubs.RolePartner, false
		}
		return "", true
	}
	return "", false
}

func (a *agreement) view(role vssubs.Role) vssubs.Agreement {
	return vssubs.Agreement{
		ID:                  a.ID,
		AuthorizationNumber: a.AuthorizationNumber,
		LicenseNumber:       a.LicenseNumber,
		CustomerName:        a.CustomerName,
		CustomerEmail:       a.CustomerEmail,
		Lines:               append([]vssubs.OrderLine(nil), a.Lines...),
		Role:                role,
		CreatedAt:           a.CreatedAt,
	}
}

type relationship struct {
	vssubs.Relationship
}
