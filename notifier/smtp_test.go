package notifier_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

// mailAt is when the tests' mail is sent.
var mailAt = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

const (
	smtpUser     = "portal@contoso.com"
	smtpPassword = "correct horse battery staple"
)

// testCertificate returns a server certificate for 127.0.0.1, made for this test run,
// and a pool that trusts it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vssubs test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// received is one message as the SMTP server got it.
type received struct {
	From, To string
	Data     []byte
}

// mailbox is a real SMTP server (go-smtp) on a loopback port: TLS from the test
// certificate, PLAIN authentication required before MAIL.
type mailbox struct {
	Addr  string
	Roots *x509.CertPool
	mu    sync.Mutex
	got   []received
}

// startMailbox serves SMTP with STARTTLS, or with TLS from the first byte when implicit.
// offerTLS false runs a server that cannot upgrade, to prove the notifier will not send
// in clear.
func startMailbox(t *testing.T, implicit, offerTLS bool) *mailbox {
	t.Helper()
	cert, roots := testCertificate(t)
	mb := &mailbox{Roots: roots}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = discardLogger{}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if offerTLS {
		srv.TLSConfig = tlsCfg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, tlsCfg)
	}
	mb.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Closing the listener too ends Serve even if Close ran before Serve registered it.
		_ = srv.Close()
		_ = l.Close()
		<-done
	})
	return mb
}

func (mb *mailbox) messages() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.got...)
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type mailSession struct {
	mb       *mailbox
	authed   bool
	from, to string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	s.mb.got = append(s.mb.got, received{From: s.from, To: s.to, Data: b})
	return nil
}

func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

// readMail is what a mail client shows of a message: headers, decoded subject, and the
// parts by content type.
type readMail struct {
	Header  mail.Header
	Subject string
	Parts   map[string]string
}

func parseMail(t *testing.T, raw []byte) readMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("want multipart/alternative, got %q (%v)", mediaType, err)
	}
	out := readMail{Header: m.Header, Subject: subject, Parts: map[string]string{}}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out.Parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	return out
}

// portalNotification renders kind in lang the way the portal does.
func portalNotification(t *testing.T, kind vssubs.NotificationKind, lang vssubs.Language, to string) vssubs.Notification {
	t.Helper()
	subject, text, err := notifier.Render(kind, lang, sampleData())
	if err != nil {
		t.Fatal(err)
	}
	html, err := notifier.RenderHTML(kind, lang, sampleData())
	if err != nil {
		t.Fatal(err)
	}
	return vssubs.Notification{ID: "ntf_000007", Kind: kind, To: to, Language: lang, Subject: subject, Text: text, HTML: html, Data: sampleData()}
}

func newSMTP(t *testing.T, mb *mailbox, opts ...notifier.SMTPOption) *notifier.SMTP {
	t.Helper()
	base := []notifier.SMTPOption{
		notifier.WithSMTPFrom("Contoso Licensing <licensing@contoso.com>"),
		notifier.WithSMTPReplyTo("Licensing desk <help@contoso.com>"),
		notifier.WithSMTPAuth(smtpUser, smtpPassword),
		notifier.WithSMTPTLSConfig(&tls.Config{RootCAs: mb.Roots, MinVersion: tls.VersionTLS12}),
		notifier.WithSMTPClock(func() time.Time { return mailAt }),
	}
	s, err := notifier.NewSMTP(mb.Addr, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSMTPNotifierSendsBothPartsInTheRecipientsLanguage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		lang     vssubs.Language
	}{
		{"STARTTLS, a French customer", false, vssubs.LangFrench},
		{"STARTTLS, an English customer", false, vssubs.LangEnglish},
		{"implicit TLS, a French customer", true, vssubs.LangFrench},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := startMailbox(t, tc.implicit, true)
			var opts []notifier.SMTPOption
			if tc.implicit {
				opts = append(opts, notifier.WithSMTPSecurity(notifier.SMTPImplicitTLS))
			}
			n := portalNotification(t, vssubs.KindPartnerAdded, tc.lang, "it-director@contoso.com")
			if err := newSMTP(t, mb, opts...).Notify(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			msgs := mb.messages()
			if len(msgs) != 1 {
				t.Fatalf("want one message, got %d", len(msgs))
			}
			if diff := cmp.Diff(received{From: "licensing@contoso.com", To: "it-director@contoso.com"}, received{From: msgs[0].From, To: msgs[0].To}); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			m := parseMail(t, msgs[0].Data)
			got := map[string]string{
				"From": m.Header.Get("From"), "To": m.Header.Get("To"), "Reply-To": m.Header.Get("Reply-To"),
				"Subject": m.Subject, "Content-Language": m.Header.Get("Content-Language"),
				"Message-ID": m.Header.Get("Message-ID"), "X-VSSubs-Kind": m.Header.Get("X-VSSubs-Kind"), "X-VSSubs-Notification-ID": m.Header.Get("X-VSSubs-Notification-ID"),
				"text/plain": m.Parts["text/plain"], "text/html": m.Parts["text/html"],
			}
			want := map[string]string{
				"From": `"Contoso Licensing" <licensing@contoso.com>`, "To": "<it-director@contoso.com>", "Reply-To": `"Licensing desk" <help@contoso.com>`,
				"Subject": n.Subject, "Content-Language": string(tc.lang),
				"Message-ID": "<ntf_000007@contoso.com>", "X-VSSubs-Kind": "partner_added", "X-VSSubs-Notification-ID": n.ID,
				"text/plain": n.Text, "text/html": n.HTML,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("message as read (-want +got):\n%s", diff)
			}
			greeting := map[vssubs.Language]string{vssubs.LangFrench: "Bonjour Contoso Ltd", vssubs.LangEnglish: "Hello Contoso Ltd"}[tc.lang]
			if !strings.Contains(m.Parts["text/plain"], greeting) || !strings.Contains(m.Parts["text/html"], greeting) {
				t.Errorf("both parts must greet in %s (%q)", tc.lang, greeting)
			}
		})
	}
}

func TestSMTPNotifierRendersHTMLWhenTheNotificationHasNone(t *testing.T) {
	mb := startMailbox(t, false, true)
	n := portalNotification(t, vssubs.KindOrderInvitation, vssubs.LangFrench, "it-director@contoso.com")
	want := n.HTML
	n.HTML = ""
	if err := newSMTP(t, mb).Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, parseMail(t, mb.messages()[0].Data).Parts["text/html"]); diff != "" {
		t.Errorf("HTML part (-want +got):\n%s", diff)
	}
}

func TestSMTPNotifierRefusals(t *testing.T) {
	n := portalNotification(t, vssubs.KindPartnerRemoved, vssubs.LangEnglish, "bob@northwind-it.com")
	for _, tc := range []struct {
		name     string
		offerTLS bool
		opts     []notifier.SMTPOption
		want     string
	}{
		{"a wrong password is refused by the server", true, []notifier.SMTPOption{notifier.WithSMTPAuth(smtpUser, "wrong")}, "535"},
		{"without STARTTLS nothing is sent in clear", false, nil, "STARTTLS"},
		{"a server certificate from an untrusted CA is refused", true, []notifier.SMTPOption{notifier.WithSMTPTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := startMailbox(t, false, tc.offerTLS)
			err := newSMTP(t, mb, tc.opts...).Notify(context.Background(), n)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
			if got := len(mb.messages()); got != 0 {
				t.Errorf("no message may arrive, got %d", got)
			}
		})
	}
	t.Run("a recipient that is not an address is refused before connecting", func(t *testing.T) {
		bad := n
		bad.To = "bob@northwind-it.com\r\nBcc: eve@evil.example"
		err := newSMTP(t, startMailbox(t, false, true)).Notify(context.Background(), bad)
		if err == nil || !strings.Contains(err.Error(), "recipient") {
			t.Fatalf("want a recipient error, got %v", err)
		}
	})
}

func TestNewSMTPValidatesItsOptions(t *testing.T) {
	from := notifier.WithSMTPFrom("licensing@contoso.com")
	for _, tc := range []struct {
		name string
		addr string
		opts []notifier.SMTPOption
		want string
	}{
		{"the address needs a port", "smtp.contoso.com", []notifier.SMTPOption{from}, "host:port"},
		{"a sender is required", "smtp.contoso.com:587", nil, "WithSMTPFrom"},
		{"the sender must be an address", "smtp.contoso.com:587", []notifier.SMTPOption{notifier.WithSMTPFrom("licensing")}, "WithSMTPFrom"},
		{"reply-to must be an address", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPReplyTo("help desk")}, "WithSMTPReplyTo"},
		{"credentials must not be empty", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPAuth("user", "")}, "WithSMTPAuth"},
		{"the security mode must be known", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPSecurity(7)}, "WithSMTPSecurity"},
		{"certificate checks cannot be skipped", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPTLSConfig(&tls.Config{InsecureSkipVerify: true})}, "InsecureSkipVerify"},
		{"the timeout must be positive", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPTimeout(0)}, "WithSMTPTimeout"},
		{"EHLO needs a host name", "smtp.contoso.com:587", []notifier.SMTPOption{from, notifier.WithSMTPHello("two words")}, "WithSMTPHello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notifier.NewSMTP(tc.addr, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}
}

func TestPortalMailsEachRecipientInTheirLanguage(t *testing.T) {
	mb := startMailbox(t, false, true)
	p, err := portal.New(portal.WithNotifier(newSMTP(t, mb)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	seller, _ := p.Client("alice@fabrikam-partners.com")
	for _, customer := range []struct {
		email string
		lang  vssubs.Language
	}{
		{"dsi@contoso.fr", vssubs.LangFrench},
		{"it@contoso.com", vssubs.LangEnglish},
	} {
		if _, err := seller.Orders.Place(ctx, vssubs.OrderRequest{
			CustomerEmail: customer.email, CustomerName: "Contoso", CustomerLanguage: customer.lang,
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if dl := p.DeadLetters(); len(dl) != 0 {
		t.Fatalf("nothing may be dead-lettered: %+v", dl)
	}
	got := map[string]string{}
	for _, msg := range mb.messages() {
		m := parseMail(t, msg.Data)
		got[msg.To] = m.Header.Get("Content-Language") + ": " + m.Subject
	}
	want := map[string]string{
		"dsi@contoso.fr": "fr: Vos abonnements Visual Studio sont prêts",
		"it@contoso.com": "en: Your Visual Studio subscriptions are ready",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("language and subject per recipient (-want +got):\n%s", diff)
	}
}
