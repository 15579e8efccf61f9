package notifier_test

import (
	"log"
	"os"

	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

// The portal mails every notification through a submission server, over STARTTLS.
func ExampleNewSMTP() {
	mailer, err := notifier.NewSMTP("smtp.contoso.com:587",
		notifier.WithSMTPFrom("Contoso Licensing <licensing@contoso.com>"),
		notifier.WithSMTPReplyTo("Licensing desk <help@contoso.com>"),
		notifier.WithSMTPAuth("portal@contoso.com", os.Getenv("SMTP_PASSWORD")),
	)
	if err != nil {
		log.Fatal(err)
	}
	p, err := portal.New(portal.WithNotifier(mailer))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
}
