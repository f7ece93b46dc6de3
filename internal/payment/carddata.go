package payment

import "github.com/paymon/paymon/internal/pan"

// noCardData explains why a card number is refused wherever it appears.
const noCardData = "must not contain a card number: card data never enters Paymon; the provider takes it (a token or a redirect)"

// refuseCardData refuses a card number in the request's free text (the
// description, metadata keys and values), with the same detector the
// logbook redacts with: what Paymon would never log it must not store.
func refuseCardData(r *CreateRequest) error {
	if pan.Contains(r.Description) {
		return &InvalidError{Field: "description", Reason: noCardData}
	}
	for k, v := range r.Metadata {
		if pan.Contains(k) {
			// The key itself is the card number: do not echo it back.
			return &InvalidError{Field: "metadata", Reason: "a key " + noCardData}
		}
		if pan.Contains(v) {
			return &InvalidError{Field: "metadata." + k, Reason: noCardData}
		}
	}
	return nil
}
