package vssubs

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"

	"github.com/vssubs/vssubs-go/internal/wire"
)

// listAll walks every page of a list endpoint, yielding items as they arrive so memory
// stays bounded by one page. It stops on an error, on an empty cursor, and on a cursor it
// has already seen (a server bug that would otherwise loop forever).
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := url.Values{}
		for k, v := range query {
			q[k] = append([]string(nil), v...)
		}
		seen := map[string]bool{}
		for {
			var page wire.Page[T]
			if err := c.do(ctx, http.MethodGet, path, q, nil, &page, callConfig{}); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			if seen[page.NextCursor] {
				var zero T
				yield(zero, fmt.Errorf("vssubs: %s: the portal repeated cursor %q", path, page.NextCursor))
				return
			}
			seen[page.NextCursor] = true
			q.Set("cursor", page.NextCursor)
		}
	}
}

// Collect drains a list iterator into a slice, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
