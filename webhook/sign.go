package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Headers of a webhook delivery. The signature covers the timestamp and the body.
const (
	HeaderTimestamp = "X-VSSubs-Timestamp"
	HeaderSignature = "X-VSSubs-Signature"
)

// MinSecretLen is the shortest webhook secret accepted, in bytes.
const MinSecretLen = 32

// Sign returns the signature header value of a delivery of body at timestamp: "v1=" and
// the hex HMAC-SHA256 of "<unix seconds>.<body>". Senders sign with it, and receivers'
// tests use it to forge valid deliveries.
func Sign(secret []byte, timestamp time.Time, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp.Unix(), body))
}

func mac(secret []byte, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
