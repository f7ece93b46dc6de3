/**
 * Money helpers. Amounts are integer minor units (cents, yen, fils) as the API
 * keeps them; no floating point is used to convert between what a person
 * types and what is sent.
 */

/** ISO 4217 exponents of the currencies the dashboard offers, plus a few more. */
const EXPONENTS: Record<string, number> = {
  EUR: 2,
  USD: 2,
  GBP: 2,
  CHF: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  BHD: 3,
  OMR: 3,
  JOD: 3,
  TND: 3,
};

/** Currencies offered by the "New test payment" form. */
export const FORM_CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'KWD', 'CHF'] as const;

export class MoneyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoneyError';
  }
}

/** The number of decimal digits of a currency's minor unit. */
export function currencyExponent(currency: string): number {
  const code = currency.toUpperCase();
  if (code in EXPONENTS) {
    return EXPONENTS[code];
  }
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits;
    return digits ?? 2;
  } catch {
    return 2;
  }
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses an amount typed in major units ("12.34") into integer minor units
 * (1234 for EUR) by string manipulation only. Rejects empty input, signs,
 * exponents, separators, more decimals than the currency has, zero, and
 * values beyond Number.MAX_SAFE_INTEGER.
 */
export function toMinorUnits(input: string, currency: string): number {
  const text = (input ?? '').trim();
  if (text === '') {
    throw new MoneyError('Enter an amount.');
  }
  const m = DECIMAL.exec(text);
  if (!m) {
    throw new MoneyError('Enter a positive amount like 12.34 (digits and one dot only).');
  }
  const exp = currencyExponent(currency);
  const whole = m[1];
  const frac = m[2] ?? '';
  if (frac.length > exp) {
    throw new MoneyError(
      exp === 0
        ? `${currency} has no minor unit: enter a whole number.`
        : `${currency} allows at most ${exp} decimal place${exp === 1 ? '' : 's'}.`,
    );
  }
  const digits = (whole + frac.padEnd(exp, '0')).replace(/^0+(?=\d)/, '');
  const value = BigInt(digits);
  if (value <= 0n) {
    throw new MoneyError('The amount must be greater than zero.');
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MoneyError('The amount is too large.');
  }
  return Number(value);
}

/** Converts integer minor units into a decimal string in major units ("12.34"). */
export function minorToDecimalString(amount: number, currency: string): string {
  const exp = currencyExponent(currency);
  const negative = amount < 0;
  const digits = Math.abs(Math.trunc(amount)).toString().padStart(exp + 1, '0');
  const whole = exp === 0 ? digits : digits.slice(0, digits.length - exp);
  const frac = exp === 0 ? '' : digits.slice(digits.length - exp);
  return (negative ? '-' : '') + whole + (frac ? '.' + frac : '');
}

/**
 * Formats integer minor units as money ("€12.34", "¥1,234", "KWD 1.234")
 * with Intl.NumberFormat and the currency's exponent. The decimal string is
 * handed to Intl, so no float rounding happens for large amounts.
 */
export function formatMoney(amount: number | null | undefined, currency: string, locale?: string): string {
  if (amount === null || amount === undefined || !currency) {
    return '—';
  }
  const exp = currencyExponent(currency);
  const text = minorToDecimalString(amount, currency);
  try {
    const nf = new Intl.NumberFormat(locale ?? 'en-US', {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    });
    // Intl.NumberFormat accepts decimal strings (NumberFormat v3).
    return nf.format(text as unknown as number);
  } catch {
    return `${text} ${currency.toUpperCase()}`;
  }
}

/** Major units as a JS number, for chart axes only (never sent anywhere). */
export function minorToChartValue(amount: number, currency: string): number {
  return Number(minorToDecimalString(amount, currency));
}
