package portal

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idGenerator mints the portal's ids: a kind prefix and 128 bits, 48 of milliseconds and
// 80 random, in Crockford base32 (ord_01JD3M6Q8ZK4V7W1XGQH2TBN5R). They never repeat
// across restarts or instances, cannot be guessed, and sort by creation: within one
// millisecond the random part counts up, as ULIDs do, so one process's ids stay in order.
type idGenerator struct {
	mu     sync.Mutex
	lastMs uint64
	hi     uint16 // the random part's top 16 bits
	lo     uint64 // and its other 64
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idLen is the length of an id's value after its prefix and underscore.
const idLen = 26

func (g *idGenerator) next(prefix string) string {
	g.mu.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms <= g.lastMs {
		// Same millisecond (or a clock step back): count up from the last value.
		ms = g.lastMs
		g.lo++
		if g.lo == 0 {
			g.hi++
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		g.lastMs, g.hi, g.lo = ms, binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint64(b[2:])
	}
	var v [16]byte
	binary.BigEndian.PutUint64(v[0:8], ms<<16|uint64(g.hi))
	binary.BigEndian.PutUint64(v[8:16], g.lo)
	g.mu.Unlock()

	out := make([]byte, len(prefix)+1+idLen)
	n := copy(out, prefix)
	out[n] = '_'
	// 128 bits in 26 base32 digits: the first digit carries the top 3 bits.
	hi, lo := binary.BigEndian.Uint64(v[0:8]), binary.BigEndian.Uint64(v[8:16])
	for i := len(out) - 1; i > n; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}
