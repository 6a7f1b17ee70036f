package httpapi

import "container/list"

// lru maps keys to values and holds at most max of them: adding one more
// forgets the key used least recently. It is not safe for concurrent use.
type lru[V any] struct {
	max   int
	order *list.List // of *lruEntry[V], most recently used first
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns key's value and marks it used.
func (c *lru[V]) get(key string) (V, bool) {
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

// getOrAdd returns key's value, adding make() for it first if it has none.
func (c *lru[V]) getOrAdd(key string, make func() V) V {
	if v, ok := c.get(key); ok {
		return v
	}
	v := make()
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: v})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[V]).key)
	}
	return v
}

func (c *lru[V]) len() int { return c.order.Len() }
