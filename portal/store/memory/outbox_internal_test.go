package memory

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Delivered notifications leave the outbox's tables, not only their entries: a drained
// outbox holds fresh maps, whatever its peak was.
func TestADrainedOutboxLetsItsTablesGo(t *testing.T) {
	s := New()
	notes := make([]vssubs.Notification, 5000)
	for i := range notes {
		notes[i] = vssubs.Notification{ID: fmt.Sprintf("ntf_%06d", i), CreatedAt: time.Unix(0, 0)}
	}
	s.out.enqueue(notes)
	peak := reflect.ValueOf(s.out.entries).UnsafePointer()
	ctx := context.Background()
	for _, n := range notes {
		if err := s.Delivered(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
	}
	if reflect.ValueOf(s.out.entries).UnsafePointer() == peak || s.out.due != nil {
		t.Error("the drained outbox still holds the tables of its peak")
	}
}
