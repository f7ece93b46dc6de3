// Package shippers holds the tests that run real log shippers and loggers
// (syslog-ng, rsyslog, util-linux logger, the OpenTelemetry Go SDK, a Loki
// client, winston, pino) against a real `paymon serve`, and the
// configuration files they run, which docs/shippers.md shows. It has no
// code of its own.
package shippers
