package auth

import (
	"net/mail"
	"strings"
)

// validEmail accepts a plain address (local@domain, no display name or
// comments) with a domain of at least two labels, as a login must be
// something mail could reach; "@" or "a@" are refused.
func validEmail(email string) bool {
	if len(email) > 254 {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return false
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || strings.ContainsAny(domain, "@[]") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
	}
	return true
}
