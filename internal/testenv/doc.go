// Package testenv starts the real servers that Paymon's tests run against:
// redis-server, FerretDB (the MongoDB wire protocol on SQLite) and
// stripe-mock. It uses only the standard library.
//
// Each call starts a fresh server of its own on 127.0.0.1, on a port chosen
// at run time, with its data in t.TempDir(), and waits until the server
// answers (a Redis PING, a MongoDB wire "ping" command, an HTTP request):
//
//	func TestSomething(t *testing.T) {
//		rdb := testenv.Redis(t)   // rdb.URL() is "redis://127.0.0.1:PORT"
//		db := testenv.FerretDB(t) // db.URL() is "mongodb://127.0.0.1:PORT/"
//		sm := testenv.StripeMock(t) // sm.URL() is "http://127.0.0.1:PORT"
//		...
//	}
//
// The process (its whole process group) is killed in t.Cleanup, before the
// temporary directory is removed. On Linux it is also killed when the test
// binary dies (interrupted, timed out, crashed), through the parent-death
// signal. Fault tests call Server.Stop to take a server down and
// Server.Start to bring it back on the same address; files in its data
// directory survive (Redis keeps nothing on disk: it runs with --save "" and
// --appendonly no, so a restarted Redis starts empty).
//
// The binaries come from scripts/deps.sh: redis-server from Debian
// ("scripts/deps.sh redis"), ./bin/ferretdb built from tools/ferretdb
// ("scripts/deps.sh ferretdb") and ./bin/stripe-mock
// ("scripts/deps.sh stripe-mock"). When one is missing, the test is skipped
// with that hint, or fails if the environment sets PAYMON_TESTENV_REQUIRE=1,
// as `make test` and CI do, so that nothing is silently left untested.
package testenv
