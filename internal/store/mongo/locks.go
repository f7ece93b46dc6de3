package mongo

import (
	"hash/maphash"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// keyLocks serialises this process's read-modify-write updates of one
// document. MongoDB applies a conditional update ({_id, version}) or an
// $inc atomically, but FerretDB v1 evaluates the filter and writes the
// result in two steps, so concurrent updates of one document can both
// match and one is lost. Holding a per-document lock makes every update
// from one instance atomic on FerretDB too; across instances only MongoDB
// gives that guarantee (see docs/operations.md). Striped: a fixed number
// of mutexes, so memory does not grow with the number of documents.
type keyLocks struct {
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

func newKeyLocks() *keyLocks { return &keyLocks{seed: maphash.MakeSeed()} }

// lock locks the stripe of (collection, id) and returns its unlock.
func (l *keyLocks) lock(collection, id string) func() {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(collection)
	h.WriteByte(0)
	h.WriteString(id)
	m := &l.stripes[h.Sum64()%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

// isDuplicate reports a unique-index violation. MongoDB says so with code
// 11000; FerretDB v1 does for inserts, but an update that violates a unique
// index comes back as an InternalError carrying SQLite's message.
func isDuplicate(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "E11000")
}
