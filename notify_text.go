package vssubs

import (
	"fmt"
	"strings"
	"text/template"
)

// notificationTexts holds the subject and body templates of each kind, per language.
// They are parsed once and never modified.
var notificationTexts = template.Must(template.New("").Option("missingkey=error").Parse(`
{{define "order_invitation.en.subject"}}Your Visual Studio subscriptions are ready{{end}}
{{define "order_invitation.en.text"}}Hello {{.customer_name}},

An Open License order was placed for you by {{.partner_email}}.
Authorization number: {{.authorization_number}}
License number: {{.license_number}}

You are the super admin of this agreement. Sign in to the Visual Studio Subscriptions
administration portal to assign admins and reach your subscriptions.{{end}}
{{define "order_invitation.fr.subject"}}Vos abonnements Visual Studio sont prêts{{end}}
{{define "order_invitation.fr.text"}}Bonjour {{.customer_name}},

Une commande de licence Open a été passée pour vous par {{.partner_email}}.
Numéro d'autorisation : {{.authorization_number}}
Numéro de licence : {{.license_number}}

Vous êtes le super administrateur de ce contrat. Connectez-vous au portail d'administration
des abonnements Visual Studio pour affecter des administrateurs et accéder à vos abonnements.{{end}}

{{define "partner_added.en.subject"}}A partner was added to your Open License {{.license_number}}{{end}}
{{define "partner_added.en.text"}}Hello {{.customer_name}},

The partner {{.partner_email}} was added to your Open License {{.license_number}} ({{.via}})
and can now manage its Visual Studio subscriptions for you.

If you did not expect this, remove the partner's access: in the administration portal,
open the agreement {{.agreement_id}}, go to Partners, and remove {{.partner_email}}.{{end}}
{{define "partner_added.fr.subject"}}Un partenaire a été ajouté à votre licence Open {{.license_number}}{{end}}
{{define "partner_added.fr.text"}}Bonjour {{.customer_name}},

Le partenaire {{.partner_email}} a été ajouté à votre licence Open {{.license_number}} ({{.via}})
et peut désormais gérer vos abonnements Visual Studio pour votre compte.

Si vous ne l'attendiez pas, supprimez l'accès du partenaire : dans le portail d'administration,
ouvrez le contrat {{.agreement_id}}, allez dans Partenaires et supprimez {{.partner_email}}.{{end}}

{{define "partner_removed.en.subject"}}Your access to Open License {{.license_number}} was removed{{end}}
{{define "partner_removed.en.text"}}Hello,

{{.customer_name}} removed your access to the Open License {{.license_number}}.
You can no longer manage its Visual Studio subscriptions.{{end}}
{{define "partner_removed.fr.subject"}}Votre accès à la licence Open {{.license_number}} a été supprimé{{end}}
{{define "partner_removed.fr.text"}}Bonjour,

{{.customer_name}} a supprimé votre accès à la licence Open {{.license_number}}.
Vous ne pouvez plus gérer ses abonnements Visual Studio.{{end}}

{{define "admin_invitation.en.subject"}}You are now an admin of Open License {{.license_number}}{{end}}
{{define "admin_invitation.en.text"}}Hello {{.admin_name}},

{{.invited_by}} made you {{.role}} of the Open License {{.license_number}} of {{.customer_name}}.
Sign in to the Visual Studio Subscriptions administration portal to manage its subscriptions.{{end}}
{{define "admin_invitation.fr.subject"}}Vous êtes désormais administrateur de la licence Open {{.license_number}}{{end}}
{{define "admin_invitation.fr.text"}}Bonjour {{.admin_name}},

{{.invited_by}} vous a nommé {{.role}} de la licence Open {{.license_number}} de {{.customer_name}}.
Connectez-vous au portail d'administration des abonnements Visual Studio pour gérer ses abonnements.{{end}}

{{define "subscription_assigned.en.subject"}}A Visual Studio subscription was assigned to you{{end}}
{{define "subscription_assigned.en.text"}}Hello {{.subscriber_name}},

{{.customer_name}} assigned you a Visual Studio {{.level}} subscription.
Sign in at https://my.visualstudio.com with {{.email}} to start using it.{{end}}
{{define "subscription_assigned.fr.subject"}}Un abonnement Visual Studio vous a été attribué{{end}}
{{define "subscription_assigned.fr.text"}}Bonjour {{.subscriber_name}},

{{.customer_name}} vous a attribué un abonnement Visual Studio {{.level}}.
Connectez-vous sur https://my.visualstudio.com avec {{.email}} pour commencer à l'utiliser.{{end}}
`))

// RenderNotification writes the subject and plain text of a notification of kind in
// lang (English when lang is not a supported language) from its data.
func RenderNotification(kind NotificationKind, lang string, data map[string]string) (subject, text string, err error) {
	if !ValidLanguage(lang) {
		lang = LangEnglish
	}
	render := func(part string) (string, error) {
		name := string(kind) + "." + lang + "." + part
		if segs, ok := compiledTexts[name]; ok {
			text, err := renderSegments(name, segs, data)
			if err != nil {
				return "", fmt.Errorf("vssubs: rendering %s notification: %w", kind, err)
			}
			return text, nil
		}
		var b strings.Builder
		if err := notificationTexts.ExecuteTemplate(&b, name, data); err != nil {
			return "", fmt.Errorf("vssubs: rendering %s notification: %w", kind, err)
		}
		return b.String(), nil
	}
	if subject, err = render("subject"); err != nil {
		return "", "", err
	}
	text, err = render("text")
	return subject, text, err
}
