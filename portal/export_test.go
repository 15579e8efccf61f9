package portal

import vssubs "github.com/vssubs/vssubs-go"

// GrantRoleForTest gives email a customer-side role on an agreement. It stands in for
// the admins API until that lands, so the authorization matrix can cover admins.
func (p *Portal) GrantRoleForTest(agreementID, email string, role vssubs.Role) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.agreements[agreementID].roles[vssubs.NormalizeEmail(email)] = role
}
