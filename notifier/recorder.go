package notifier

import (
	"context"
	"slices"
	"sync"

	vssubs "github.com/vssubs/vssubs-go"
)

// Recorder is an in-memory Notifier for tests and examples; safe for concurrent use.
// The zero value is ready.
type Recorder struct {
	mu    sync.Mutex
	items []vssubs.Notification
}

// Notify records n.
func (r *Recorder) Notify(_ context.Context, n vssubs.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, n)
	return nil
}

// All returns every recorded notification, oldest first.
func (r *Recorder) All() []vssubs.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// Len returns how many notifications were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Since returns the notifications recorded after the first n, so a caller can read what
// one step sent.
func (r *Recorder) Since(n int) []vssubs.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n >= len(r.items) {
		return nil
	}
	return slices.Clone(r.items[n:])
}

// Find returns the notifications of kind sent to the address to (any kind if kind is "").
func (r *Recorder) Find(kind vssubs.NotificationKind, to string) []vssubs.Notification {
	var out []vssubs.Notification
	for _, n := range r.All() {
		if (kind == "" || n.Kind == kind) && (to == "" || n.To == vssubs.NormalizeEmail(to)) {
			out = append(out, n)
		}
	}
	return out
}
