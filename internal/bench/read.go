package bench

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// ReadRows is the size of the CSV file the reading benchmark reads: a full bulk add.
const ReadRows = vssubs.MaxBulkRows

// readFixture is a CSV bulk file of n distinct rows, as WriteBulk writes them.
func readFixture(n int) []byte {
	in := make([]vssubs.SubscriberInput, n)
	for i := range in {
		in[i] = subscriber(i)
	}
	var buf bytes.Buffer
	if err := spreadsheet.WriteBulk(&buf, spreadsheet.CSV, in); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// sampledReader samples the heap on every read, so the peak of a reading it feeds is seen
// while it happens, not only once it returns.
type sampledReader struct {
	r          io.Reader
	heap       *heapGauge
	base, peak uint64
}

func (s *sampledReader) Read(p []byte) (int, error) {
	s.sample()
	return s.r.Read(p)
}

// Len tells how much is left to read, as a file's size does for spreadsheet.ReadBulk.
func (s *sampledReader) Len() int { return s.r.(*bytes.Reader).Len() }

func (s *sampledReader) sample() {
	if h := s.heap.read(); h > s.base && h-s.base > s.peak {
		s.peak = h - s.base
	}
}

// ReadCSV measures spreadsheet.ReadBulk of a ReadRows-row CSV file and reports the peak
// growth of the heap while reading, rows held at the end included, as peak-heap-MiB, and
// the file's size as file-MiB.
func ReadCSV(b *testing.B) {
	data := readFixture(ReadRows)
	heap := newHeapGauge()
	var peak uint64
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		src := &sampledReader{r: bytes.NewReader(data), heap: heap, base: heap.read()}
		b.StartTimer()
		rows, err := spreadsheet.ReadBulk(src, spreadsheet.CSV)
		must(b, err)
		src.sample()
		if len(rows) != ReadRows {
			b.Fatalf("read %d rows, want %d", len(rows), ReadRows)
		}
		peak = max(peak, src.peak)
		runtime.KeepAlive(rows)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(data))/(1<<20), "file-MiB")
}

// HoldRows is the baseline of ReadCSV: the heap the same rows take once built in memory,
// the least any reader that returns them all can hold.
func HoldRows(b *testing.B) {
	heap := newHeapGauge()
	var peak uint64
	b.ReportAllocs()
	for range b.N {
		runtime.GC()
		base := heap.read()
		rows := bulkRows(ReadRows)
		runtime.GC()
		if h := heap.read(); h > base {
			peak = max(peak, h-base)
		}
		runtime.KeepAlive(rows)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
