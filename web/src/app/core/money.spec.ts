import { currencyExponent, formatMoney, minorToDecimalString, MoneyError, toMinorUnits } from './money';

describe('toMinorUnits', () => {
  it.each([
    ['12.34', 'EUR', 1234],
    ['12', 'EUR', 1200],
    ['12.3', 'EUR', 1230],
    ['0.01', 'EUR', 1],
    ['1234', 'JPY', 1234],
    ['1.234', 'KWD', 1234],
    ['1', 'KWD', 1000],
    [' 7.50 ', 'USD', 750],
    ['0019.99', 'GBP', 1999],
    ['90071992547409.91', 'CHF', 9007199254740991],
  ])('parses %s %s as %d', (input, currency, want) => {
    expect(toMinorUnits(input, currency)).toBe(want);
  });

  it('is exact where float maths is not (0.29 * 100 = 28.999…)', () => {
    expect(toMinorUnits('0.29', 'EUR')).toBe(29);
    expect(toMinorUnits('1.005', 'KWD')).toBe(1005);
  });

  it.each([
    ['1.2345', 'EUR'],
    ['12.345', 'EUR'],
    ['12.5', 'JPY'],
    ['1.2345', 'KWD'],
  ])('rejects too many decimals: %s %s', (input, currency) => {
    expect(() => toMinorUnits(input, currency)).toThrow(MoneyError);
  });

  it.each(['-1', '-12.34', '', '   ', 'abc', '12,34', '1e3', '1.2.3', '+5', '.5', '5.', 'NaN', 'Infinity', '0', '0.00', '12 34'])(
    'rejects negative, zero and garbage: %j',
    (input) => {
      expect(() => toMinorUnits(input, 'EUR')).toThrow(MoneyError);
    },
  );

  it('rejects amounts beyond the safe integer range', () => {
    expect(() => toMinorUnits('90071992547409.92', 'EUR')).toThrow(/too large/);
  });
});

describe('currencyExponent', () => {
  it('knows the form currencies', () => {
    expect(currencyExponent('EUR')).toBe(2);
    expect(currencyExponent('jpy')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
  });
});

describe('minorToDecimalString / formatMoney', () => {
  it('renders minor units as major-unit strings', () => {
    expect(minorToDecimalString(1234, 'EUR')).toBe('12.34');
    expect(minorToDecimalString(5, 'EUR')).toBe('0.05');
    expect(minorToDecimalString(1234, 'JPY')).toBe('1234');
    expect(minorToDecimalString(1234, 'KWD')).toBe('1.234');
    expect(minorToDecimalString(-250, 'USD')).toBe('-2.50');
  });

  it('formats with the currency exponent', () => {
    expect(formatMoney(123450, 'EUR', 'en-US')).toBe('€1,234.50');
    expect(formatMoney(1234, 'JPY', 'en-US')).toBe('¥1,234');
    expect(formatMoney(1234, 'KWD', 'en-US')).toMatch(/KWD\s?1\.234/);
    expect(formatMoney(null, 'EUR')).toBe('—');
  });
});
