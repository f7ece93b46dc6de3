// Package money owns currencies and amounts. Amounts are always int64 minor
// units; nothing here touches floating point except Major, which exists only
// for metrics where a float is the Prometheus contract.
package money

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Currency is an ISO 4217 alphabetic code with its minor-unit exponent.
type Currency struct {
	Code     string
	Exponent int
}

// currencies lists the active ISO 4217 codes (the list-one table as of 2024)
// with their exponents. Funds codes, precious metals and testing codes are
// left out on purpose: nobody pays in XAU.
var currencies = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// Lookup returns the currency for an ISO 4217 code. Lower-case input is
// refused rather than folded so that stored codes have one spelling.
func Lookup(code string) (Currency, error) {
	exp, ok := currencies[code]
	if !ok {
		if up := strings.ToUpper(code); up != code {
			if _, ok := currencies[up]; ok {
				return Currency{}, fmt.Errorf("currency %q must be upper-case (%s)", code, up)
			}
		}
		return Currency{}, fmt.Errorf("unknown currency %q: not an active ISO 4217 code", code)
	}
	return Currency{Code: code, Exponent: exp}, nil
}

// Codes lists every supported code, sorted.
func Codes() []string {
	out := make([]string, 0, len(currencies))
	for c := range currencies {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Major converts minor units to a float in major units, for metrics only.
func (c Currency) Major(minor int64) float64 {
	return float64(minor) / math.Pow10(c.Exponent)
}

// Format renders minor units as a decimal string in major units ("12.34",
// "1234" for JPY, "1.234" for KWD) using integer arithmetic only.
func (c Currency) Format(minor int64) string {
	if c.Exponent == 0 {
		return fmt.Sprintf("%d", minor)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	div := int64(1)
	for i := 0; i < c.Exponent; i++ {
		div *= 10
	}
	return fmt.Sprintf("%s%d.%0*d", sign, minor/div, c.Exponent, minor%div)
}

// MaxAmount caps a single payment so that sums of many payments cannot
// overflow int64 and so that a typo cannot charge a fortune: 10^12 minor
// units (ten billion EUR, one trillion JPY).
const MaxAmount int64 = 1_000_000_000_000
