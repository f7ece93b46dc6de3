package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrPrivateAddress: the URL resolves to an address a webhook must not
// reach from inside Paymon's network (SSRF).
var ErrPrivateAddress = errors.New("address is loopback, link-local, private, unspecified or multicast")

// blocked reports whether a delivery must not connect to ip: anything
// that is not a public unicast address (cloud metadata at 169.254.169.254
// is link-local).
func blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		cgnat.Contains(ip)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// guardControl is a net.Dialer Control hook: it sees the address actually
// dialled, after DNS, so a name that resolves to a public address at
// creation and a private one later (DNS rebinding) is still refused.
func guardControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("cannot read dialled address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("cannot read dialled address %q: %w", address, err)
	}
	if blocked(ip) {
		return fmt.Errorf("refused to connect to %s: %w", ip, ErrPrivateAddress)
	}
	return nil
}

// CheckURL validates an endpoint URL: absolute http(s), no credentials,
// and, unless allowPrivate, a host whose every address is public.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) error {
	if len(raw) > 2048 {
		return &InvalidError{Field: "url", Reason: "url must be at most 2048 characters"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return &InvalidError{Field: "url", Reason: "url must be an absolute http:// or https:// URL"}
	}
	if u.User != nil {
		return &InvalidError{Field: "url", Reason: "url must not carry credentials"}
	}
	if u.Fragment != "" {
		return &InvalidError{Field: "url", Reason: "url must not have a fragment"}
	}
	if allowPrivate {
		return nil
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		if resolver == nil {
			resolver = net.DefaultResolver
		}
		ips, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return &InvalidError{Field: "url", Reason: "url host " + host + " does not resolve"}
		}
		addrs = ips
	}
	for _, ip := range addrs {
		if blocked(ip) {
			return &InvalidError{Field: "url", Reason: fmt.Sprintf("url host resolves to %s: webhooks cannot target loopback, link-local, private, unspecified or multicast addresses", ip.Unmap())}
		}
	}
	return nil
}

// InvalidError is bad input; the HTTP layer answers 422 naming Field.
type InvalidError struct{ Field, Reason string }

func (e *InvalidError) Error() string { return e.Reason }
