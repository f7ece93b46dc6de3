package cache_test

import (
	"testing"

	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/cache/cachetest"
)

func TestMemoryConformance(t *testing.T) {
	cachetest.RunCacheTests(t, func(t *testing.T) cache.Cache {
		c := cache.NewMemory(1000)
		t.Cleanup(func() { c.Close() })
		return c
	})
}
