// Package check holds tests that validate the deployment assets in deploy/:
// Kubernetes manifests, environment variables, the Grafana dashboard and the
// Prometheus rules. Run them with `go test ./...` from deploy/check.
package check
