package bench_test

import (
	"os"
	"testing"

	"github.com/vssubs/vssubs-go/internal/bench"
)

func TestMain(m *testing.M) {
	// The paging benchmarks re-run this binary as their portal.
	bench.ServeChildIfAsked()
	os.Exit(m.Run())
}

func BenchmarkSubscribersGet(b *testing.B) {
	b.Run("vssubs", bench.ClientGet)
	b.Run("baseline=net-http", bench.HandGet)
	b.Run("vssubs+otel", bench.ClientGetTraced)
}

func BenchmarkBulkAdd10k(b *testing.B) {
	b.Run("vssubs", bench.BulkAdd)
	b.Run("baseline=json-floor", bench.JSONFloor)
}

func BenchmarkList100k(b *testing.B) {
	s := bench.NewSuite()
	defer s.Close()
	b.Run("stream", s.ListStream)
	b.Run("baseline=hold-all", s.ListHold)
}

func BenchmarkRateLimited2000(b *testing.B) {
	b.Run("matched-burst", bench.RateLimited)
	b.Run("paced", bench.RateLimitedPaced)
}

func BenchmarkStores(b *testing.B) {
	for _, be := range bench.Backends(os.Getenv("VSSUBS_TEST_POSTGRES_URL")) {
		b.Run("BulkAdd10k/"+be.Name, bench.BulkAddOn(be))
		b.Run("Get/"+be.Name, bench.GetOn(be))
		b.Run("Add/"+be.Name, bench.AddOn(be))
	}
	b.Run("ParallelAdd64/memory", bench.ParallelAdd)
	b.Run("ParallelAdd64/baseline=trivial-json", bench.TrivialJSONAdd)
	b.Run("ParallelAdd64/baseline=64-agreements", bench.ParallelAddSpread)
	b.Run("ReadStall100k/memory", bench.ReadStall)
	b.Run("BulkAfter40kRemovals/memory", bench.BulkAfterRemovals(true))
	b.Run("BulkAfter40kRemovals/baseline=fresh", bench.BulkAfterRemovals(false))
	b.Run("BytesPerSubscriber/memory", bench.BytesPerSubscriber)
	b.Run("SearchPage1M/memory", bench.SearchPage)
}

func BenchmarkPeersGet(b *testing.B) {
	b.Run("vssubs", bench.ClientGet)
	b.Run("ogen", bench.OgenGet)
	b.Run("oapi-codegen", bench.OapiGet)
}

func BenchmarkPeersPage100(b *testing.B) {
	b.Run("vssubs", bench.ClientPage)
	b.Run("ogen", bench.OgenPage)
	b.Run("oapi-codegen", bench.OapiPage)
}

func BenchmarkConcurrentGet64(b *testing.B) {
	b.Run("default", bench.ConcurrentGetDefault)
	b.Run("baseline=tuned", bench.ConcurrentGetTuned)
}

func BenchmarkUIPages100k(b *testing.B) {
	s := bench.NewSuite()
	defer s.Close()
	b.Run("pages", s.UIPages)
}

func BenchmarkReadCSV100k(b *testing.B) {
	b.Run("spreadsheet", bench.ReadCSV)
	b.Run("baseline=rows-held", bench.HoldRows)
}
