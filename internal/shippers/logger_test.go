package shippers

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// util-linux logger(1) sends to the syslog listener of a real paymon in
// each protocol and transport it offers: every line arrives with its
// level, its tag as service and its structured data as attributes.
func TestLoggerIntoSyslogListener(t *testing.T) {
	logger := syslogNeed(t, "logger", "logger", "/usr/bin/logger")
	p, port, token := syslogPaymon(t)
	cases := []struct {
		name string
		args []string
		sd   bool // RFC 5424 carries structured data
	}{
		{"rfc5424-tcp-octet-counted", []string{"--rfc5424", "--tcp", "--octet-count"}, true},
		{"rfc5424-tcp-newline", []string{"--rfc5424", "--tcp"}, true},
		{"rfc5424-udp", []string{"--rfc5424", "--udp"}, true},
		{"rfc3164-tcp", []string{"--rfc3164", "--tcp"}, false},
		{"rfc3164-udp", []string{"--rfc3164", "--udp"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tag := "logger-" + tc.name
			for i, sev := range syslogSeverities {
				args := append([]string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "-t", tag, "-p", "user." + sev.name}, tc.args...)
				if tc.sd {
					args = append(args, "--sd-id", "order@32473", "--sd-param", fmt.Sprintf(`id="o-%d"`, i), "--sd-param", `shop="eu"`, "--msgid", "PAY")
				}
				args = append(args, fmt.Sprintf("%s line %d from logger", sev.name, i))
				if out, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
					t.Fatalf("logger %v: %v\n%s", args, err, out)
				}
			}
			got := syslogWaitLogs(t, p, token, tag, len(syslogSeverities))
			for i, sev := range syslogSeverities {
				msg := fmt.Sprintf("%s line %d from logger", sev.name, i)
				e, ok := got[msg]
				if !ok {
					t.Fatalf("%q missing; got %v", msg, got)
				}
				attrs, _ := e["attributes"].(map[string]any)
				if e["level"] != sev.level || attrs["severity"] != sev.name || attrs["facility"] != "user" || attrs["hostname"] == nil {
					t.Errorf("%q: level %v, attributes %v; want level %s", msg, e["level"], attrs, sev.level)
				}
				if !tc.sd {
					continue
				}
				sd, _ := attrs["sd"].(map[string]any)
				order, _ := sd["order@32473"].(map[string]any)
				if order["id"] != fmt.Sprintf("o-%d", i) || order["shop"] != "eu" || attrs["msgid"] != "PAY" {
					t.Errorf("%q: structured data %v, msgid %v", msg, sd, attrs["msgid"])
				}
			}
		})
	}
	// Every entry counted under the syslog format.
	status, body := p.Do("GET", "/metrics", "", "")
	var total float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "paymon_logs_ingested_total{") && strings.Contains(line, `format="syslog"`) {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			total += v
		}
	}
	if want := float64(len(cases) * len(syslogSeverities)); status != 200 || total != want {
		t.Errorf("paymon_logs_ingested_total{format=\"syslog\"} sums to %v (status %d), want %v", total, status, want)
	}
}
