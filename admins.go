package vssubs

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// FieldRole is the field name of an admin's role in FieldError.
const FieldRole = "role"

// Admin is a person with a role on the customer's side of an agreement.
type Admin struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	// Role is RoleSuperAdmin or RoleAdmin.
	Role    Role      `json:"role"`
	AddedBy string    `json:"added_by,omitempty"`
	AddedAt time.Time `json:"added_at"`
	ResponseMeta
}

// AdminInput names a new admin of an agreement.
type AdminInput struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	// Role is RoleAdmin or RoleSuperAdmin; empty means RoleAdmin.
	Role Role `json:"role,omitempty"`
	// Language is the language of the invitation, "en" or "fr"; empty means "en".
	Language Language `json:"language,omitempty"`
}

// Validate checks the input with DefaultRules and lists every bad field.
func (in AdminInput) Validate() error {
	_, err := DefaultRules().NormalizeAdmin(in)
	return err
}

// NormalizeAdmin returns the input with its email, role and language normalized, or a
// *ValidationError listing every bad field.
func (r Rules) NormalizeAdmin(in AdminInput) (AdminInput, error) {
	var fe fieldErrors
	if checkText(&fe, FieldEmail, in.Email, true) {
		in.Email = r.checkEmail(&fe, FieldEmail, in.Email, false)
	}
	checkText(&fe, "name", in.Name, true)
	switch in.Role {
	case "":
		in.Role = RoleAdmin
	case RoleAdmin, RoleSuperAdmin:
	default:
		fe.add(FieldRole, "must be admin or super_admin")
	}
	if in.Language == "" {
		in.Language = LangEnglish
	}
	if !in.Language.Valid() {
		fe.add(FieldLanguage, "must be en or fr")
	}
	return in, fe.err()
}

// AdminsService lists, adds and removes the admins and super admins of an agreement.
// Anyone with a role may list them; only super admins add or remove them.
type AdminsService service

// List iterates the agreement's super admins and admins, oldest first.
func (s *AdminsService) List(ctx context.Context, agreementID string) iter.Seq2[Admin, error] {
	if err := requireID("agreement_id", agreementID); err != nil {
		return func(yield func(Admin, error) bool) { yield(Admin{}, err) }
	}
	return listAll[Admin](ctx, s.client, agreementPath(agreementID, "admins"), nil)
}

// Add makes a person admin or super admin of the agreement and sends them an
// admin_invitation. Callers other than super admins get ErrForbidden; an email that
// already has a role on the agreement gets ErrConflict.
func (s *AdminsService) Add(ctx context.Context, agreementID string, in AdminInput, opts ...CallOption) (*Admin, error) {
	in, err := s.client.rules.NormalizeAdmin(in)
	if err != nil {
		return nil, err
	}
	if err := requireID("agreement_id", agreementID); err != nil {
		return nil, err
	}
	return call[Admin](ctx, s.client, http.MethodPost, agreementPath(agreementID, "admins"), in, callOptions(opts))
}

// Remove takes a person's admin role away. Only super admins may; removing one of the
// last two super admins is ErrLastSuperAdmin.
func (s *AdminsService) Remove(ctx context.Context, agreementID, email string, opts ...CallOption) error {
	if err := requireIDs("agreement_id", agreementID, FieldEmail, email); err != nil {
		return err
	}
	return s.client.do(ctx, http.MethodDelete, agreementPath(agreementID, "admins", NormalizeEmail(email)), nil, nil, nil, callOptions(opts))
}
