// Command proofchild is a replica in redisvssubs's cross-process proofs: a partner back
// end's client ("caller") or a webhook receiver ("receiver"), sharing Redis with the
// others. The tests build it without the race detector, as replicas are built, so the
// proof measures the limiter and not the detector's overhead.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/redisvssubs"
	"github.com/vssubs/vssubs-go/webhook"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: proofchild caller|receiver")
		os.Exit(2)
	}
	os.Exit(runChild(os.Args[1]))
}

// proofBurst is the shared limiter's burst; the proof's portal allows bursts of 20.
const proofBurst = 4

// CallerResult is what a caller process reports when it is done.
type CallerResult struct {
	OK, RateLimited, Failed int
	FirstError              string
}

// runChild is main for a child process; its settings come in the environment.
func runChild(role string) int {
	var err error
	switch role {
	case "caller":
		err = callerChild()
	case "receiver":
		err = receiverChild()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func redisClient() (*redis.Client, error) {
	opt, err := redis.ParseURL(os.Getenv("PROOF_REDIS"))
	if err != nil {
		return nil, err
	}
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// callerChild is one replica of a partner back end: its own client, paced by the Redis
// limiter every replica shares. It says "ready", waits for "go", and sends its calls.
func callerChild() error {
	rdb, err := redisClient()
	if err != nil {
		return err
	}
	defer rdb.Close()
	perSecond, _ := strconv.ParseFloat(os.Getenv("PROOF_RATE"), 64)
	// A generous timeout: on a loaded CI machine running -race, a process can stall for
	// longer than the default, and this proof is about sharing, not about outages.
	lim, err := redisvssubs.NewLimiter(rdb, os.Getenv("PROOF_KEY"), perSecond, proofBurst, redisvssubs.WithTimeout(2*time.Second))
	if err != nil {
		return err
	}
	c, err := vssubs.NewClient(vssubs.WithBaseURL(os.Getenv("PROOF_PORTAL")), vssubs.WithLimiter(lim),
		vssubs.WithCredential(vssubs.StaticToken(os.Getenv("PROOF_TOKEN"))))
	if err != nil {
		return err
	}
	calls, _ := strconv.Atoi(os.Getenv("PROOF_CALLS"))
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	var mu sync.Mutex
	var res CallerResult
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(calls) {
				_, err := c.Orders.Get(context.Background(), os.Getenv("PROOF_ORDER"))
				mu.Lock()
				switch {
				case err == nil:
					res.OK++
				case errors.Is(err, vssubs.ErrRateLimited):
					res.RateLimited++
				default:
					res.Failed++
					if res.FirstError == "" {
						res.FirstError = err.Error()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// receiverChild is one replica of a webhook receiver: it verifies deliveries against the
// Redis replay cache every replica shares, answers 204 for a notification it handled and
// 200 for a replay, and prints how many it handled when its stdin closes.
func receiverChild() error {
	rdb, err := redisClient()
	if err != nil {
		return err
	}
	defer rdb.Close()
	seen, err := redisvssubs.NewReplayCache(rdb, os.Getenv("PROOF_PREFIX"), func(err error) { fmt.Fprintln(os.Stderr, err) })
	if err != nil {
		return err
	}
	var handled atomic.Int32
	secret := webhook.Secret{Current: []byte(os.Getenv("PROOF_SECRET"))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := webhook.Verify(r, secret, 5*time.Minute, seen)
		var we *webhook.Error
		switch {
		case errors.As(err, &we):
			w.WriteHeader(we.StatusCode())
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			handled.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("http://" + ln.Addr().String() + "/")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	fmt.Println(handled.Load())
	return nil
}
