package notifier

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// SMTPSecurity is how an SMTP protects its connection. There is no clear-text
// mode: notifications carry license numbers and the customer's only chance to act.
type SMTPSecurity int

const (
	// SMTPStartTLS connects in clear and upgrades with STARTTLS before anything is sent
	// (usually port 587). A server that does not offer STARTTLS is refused.
	SMTPStartTLS SMTPSecurity = iota
	// SMTPImplicitTLS speaks TLS from the first byte (usually port 465).
	SMTPImplicitTLS
)

// SMTP delivers notifications by mail: a multipart/alternative message with a
// plain-text and an HTML part, in the recipient's language. It is safe for concurrent use;
// each notification opens its own connection.
type SMTP struct {
	addr, host string
	cfg        smtpConfig
}

type smtpConfig struct {
	security           SMTPSecurity
	tls                *tls.Config
	username, password string
	from               *mail.Address
	replyTo            *mail.Address
	hello              string
	timeout            time.Duration
	now                func() time.Time
}

// SMTPOption configures an SMTP.
type SMTPOption func(*smtpConfig) error

// WithSMTPFrom sets the sender, such as "Contoso Licensing <licensing@contoso.com>". It is
// required.
func WithSMTPFrom(address string) SMTPOption {
	return func(c *smtpConfig) error {
		a, err := mail.ParseAddress(address)
		if err != nil {
			return fmt.Errorf("notifier: WithSMTPFrom: %q is not a mail address: %w", address, err)
		}
		c.from = a
		return nil
	}
}

// WithSMTPReplyTo sets where replies go, when that is not the sender.
func WithSMTPReplyTo(address string) SMTPOption {
	return func(c *smtpConfig) error {
		a, err := mail.ParseAddress(address)
		if err != nil {
			return fmt.Errorf("notifier: WithSMTPReplyTo: %q is not a mail address: %w", address, err)
		}
		c.replyTo = a
		return nil
	}
}

// WithSMTPAuth authenticates with PLAIN, which is only ever sent inside TLS.
func WithSMTPAuth(username, password string) SMTPOption {
	return func(c *smtpConfig) error {
		if username == "" || password == "" {
			return errors.New("notifier: WithSMTPAuth: username and password must not be empty")
		}
		c.username, c.password = username, password
		return nil
	}
}

// WithSMTPSecurity chooses STARTTLS (the default) or implicit TLS.
func WithSMTPSecurity(s SMTPSecurity) SMTPOption {
	return func(c *smtpConfig) error {
		if s != SMTPStartTLS && s != SMTPImplicitTLS {
			return fmt.Errorf("notifier: WithSMTPSecurity: unknown mode %d", s)
		}
		c.security = s
		return nil
	}
}

// WithSMTPTLSConfig sets the TLS configuration, for a private CA or a client certificate.
// ServerName defaults to the host of the server address.
func WithSMTPTLSConfig(cfg *tls.Config) SMTPOption {
	return func(c *smtpConfig) error {
		if cfg == nil {
			return errors.New("notifier: WithSMTPTLSConfig: nil config")
		}
		if cfg.InsecureSkipVerify {
			return errors.New("notifier: WithSMTPTLSConfig: InsecureSkipVerify would let anyone read the mail; trust the server's CA in RootCAs instead")
		}
		c.tls = cfg.Clone()
		return nil
	}
}

// WithSMTPTimeout bounds one delivery, from dial to QUIT (default 30s); the context
// passed to Notify can end it sooner.
func WithSMTPTimeout(d time.Duration) SMTPOption {
	return func(c *smtpConfig) error {
		if d <= 0 {
			return fmt.Errorf("notifier: WithSMTPTimeout: %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithSMTPHello sets the name sent in EHLO (default "localhost").
func WithSMTPHello(name string) SMTPOption {
	return func(c *smtpConfig) error {
		if name == "" || strings.ContainsAny(name, " \r\n") {
			return fmt.Errorf("notifier: WithSMTPHello: %q is not a host name", name)
		}
		c.hello = name
		return nil
	}
}

// WithSMTPClock sets the clock of the Date header, for reproducible messages in tests.
func WithSMTPClock(now func() time.Time) SMTPOption {
	return func(c *smtpConfig) error {
		if now == nil {
			return errors.New("notifier: WithSMTPClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// NewSMTP returns a Notifier that sends through the server at addr ("host:port").
// WithSMTPFrom is required.
func NewSMTP(addr string, opts ...SMTPOption) (*SMTP, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("notifier: NewSMTP: address %q is not host:port", addr)
	}
	cfg := smtpConfig{hello: "localhost", timeout: 30 * time.Second, now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.from == nil {
		return nil, errors.New("notifier: NewSMTP: a sender is required (WithSMTPFrom)")
	}
	if cfg.tls == nil {
		cfg.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.tls.ServerName == "" {
		cfg.tls.ServerName = host
	}
	return &SMTP{addr: addr, host: host, cfg: cfg}, nil
}

// Notify sends n to n.To. The message's Message-ID derives from the notification id, so a
// redelivery is recognisable as the same message.
func (s *SMTP) Notify(ctx context.Context, n vssubs.Notification) error {
	to, err := mail.ParseAddress(n.To)
	if err != nil {
		return fmt.Errorf("notifier: smtp: notification %s: recipient %s is not a mail address: %w", n.ID, vssubs.MaskEmail(n.To), err)
	}
	msg, err := s.message(n, to)
	if err != nil {
		return err
	}
	if err := s.send(ctx, to.Address, msg); err != nil {
		return fmt.Errorf("notifier: smtp: notification %s to %s: %w", n.ID, s.addr, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, to string, msg []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	d := net.Dialer{}
	var conn net.Conn
	if s.cfg.security == SMTPImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.cfg.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return err
	}
	// net/smtp knows nothing of contexts: a deadline and a close on cancel stand in.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.hello); err != nil {
		return err
	}
	if s.cfg.security == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS; refusing to send in clear")
		}
		if err := c.StartTLS(s.cfg.tls); err != nil {
			return err
		}
	}
	if s.cfg.username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.username, s.cfg.password, s.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.cfg.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message writes n as a MIME message: multipart/alternative, text first so clients that
// prefer the last part they can show pick the HTML.
func (s *SMTP) message(n vssubs.Notification, to *mail.Address) ([]byte, error) {
	lang := n.Language
	if !lang.Valid() {
		lang = vssubs.LangEnglish
	}
	htmlBody := n.HTML
	if htmlBody == "" {
		var err error
		if htmlBody, err = RenderHTML(n.Kind, lang, n.Data); err != nil {
			// A notification built by hand may lack the facts the templates need; its
			// text, escaped, still makes a faithful HTML part.
			htmlBody = "<!DOCTYPE html>\n<html lang=\"" + string(lang) + "\"><body><pre>" + html.EscapeString(n.Text) + "</pre></body></html>\n"
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ contentType, content string }{
		{"text/plain; charset=utf-8", n.Text},
		{"text/html; charset=utf-8", htmlBody},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(part.content)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", s.cfg.from.String())
	header("To", to.String())
	if s.cfg.replyTo != nil {
		header("Reply-To", s.cfg.replyTo.String())
	}
	header("Subject", mime.QEncoding.Encode("utf-8", n.Subject))
	header("Date", s.cfg.now().Format(time.RFC1123Z))
	header("Message-ID", s.messageID(n.ID))
	header("Content-Language", string(lang))
	header("X-VSSubs-Notification-ID", headerSafe(n.ID))
	header("X-VSSubs-Kind", headerSafe(string(n.Kind)))
	header("MIME-Version", "1.0")
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// messageID is stable per notification id, at the sender's domain.
func (s *SMTP) messageID(id string) string {
	_, domain, _ := strings.Cut(s.cfg.from.Address, "@")
	local := headerSafe(id)
	if local == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		local = hex.EncodeToString(b)
	}
	return "<" + local + "@" + domain + ">"
}

// headerSafe keeps the characters that may appear in a header token, so no value can
// inject a header.
func headerSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '<' || r == '>' || r == '@' {
			return -1
		}
		return r
	}, v)
}
