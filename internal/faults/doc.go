// Package faults holds the fault suite: tests that run a real `paymon
// serve` (internal/testenv) and break what it depends on while clients are
// using it. kill -9 of Paymon itself during creates and during log ingest,
// then a restart on the same data dir; redis-server stopped and restarted
// under load; FerretDB (the MongoDB store) stopped and restarted under
// load. Each test checks, by id and by line, that nothing acknowledged
// was lost, that every answer while a dependency is down is the documented
// one (a 2xx when the dependency is not on the route's path, otherwise 503
// with Retry-After; never another 5xx, never a hang), and that Paymon
// recovers without a restart. docs/operations.md ("What the fault suite
// proves") lists the guarantees and the test that proves each.
//
// The package has no code outside its tests; `go test ./...` (make test)
// runs it with the rest.
package faults
