/** Reading a provider's own rate limits from its response headers, and when a target counts as close to them. */
import fc from 'fast-check';
import { nearLimit, parseResetDuration, readProviderLimits } from '../../../../lambdas/core/ai/provider-limits';

describe('parseResetDuration', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['150us', 0],
    ['900µs', 1],
    ['0.5', 500],
    ['12', 12_000],
    ['  2s ', 2000],
  ])('reads %p as %p ms', (text, ms) => {
    expect(parseResetDuration(text)).toBe(ms);
  });

  it.each(['', '   ', 's', '1x', '1s junk', 'junk 1s', '1s 2s', '-1s', '1.s', '.5s', '1e3', '0x10'])('does not read %p', (text) => {
    expect(parseResetDuration(text)).toBeUndefined();
  });

  it('reads any sequence of parts as the sum of their durations', () => {
    const units = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 } as const;
    const part = fc.record({
      value: fc.oneof(
        fc.nat({ max: 10_000 }).map(String),
        fc.tuple(fc.nat({ max: 999 }), fc.nat({ max: 999 })).map(([a, b]) => `${a}.${b}`),
      ),
      unit: fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)),
    });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map((p) => `${p.value}${p.unit}`).join('');
        const expected = Math.round(parts.reduce((sum, p) => sum + Number(p.value) * units[p.unit], 0));
        expect(parseResetDuration(text)).toBe(expected);
        // One unreadable character anywhere makes the whole duration unreadable.
        const at = text.length > 1 ? 1 : 0;
        expect(parseResetDuration(`${text.slice(0, at)}!${text.slice(at)}`)).toBeUndefined();
      }),
    );
  });
});

describe('readProviderLimits and nearLimit', () => {
  const now = 1_000_000;
  const from = (headers: Record<string, string>) => readProviderLimits((name) => headers[name], now);

  it("reads OpenAI's six headers, with resets as absolute times", () => {
    expect(
      from({
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '29000',
        'x-ratelimit-reset-tokens': '2s',
      }),
    ).toEqual({
      requests: { limit: 500, remaining: 499, resetAt: now + 120 },
      tokens: { limit: 30_000, remaining: 29_000, resetAt: now + 2000 },
      at: now,
    });
  });

  it('reads the remaining counts alone (Azure OpenAI), and nothing from absent or unreadable headers', () => {
    expect(from({ 'x-ratelimit-remaining-requests': '3' })).toEqual({ requests: { remaining: 3 }, at: now });
    expect(from({})).toBeUndefined();
    expect(from({ 'x-ratelimit-limit-requests': 'lots', 'x-ratelimit-remaining-tokens': '-1' })).toBeUndefined();
    expect(from({ 'x-ratelimit-remaining-tokens': '5', 'x-ratelimit-reset-tokens': 'soon' })).toEqual({
      tokens: { remaining: 5 },
      at: now,
    });
  });

  it('counts a target close to its limit until the limit resets, or for 60 s without a reset time', () => {
    const low = from({ 'x-ratelimit-limit-requests': '1000', 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-reset-requests': '10s' });
    expect(nearLimit(low, now)).toBe(true);
    expect(nearLimit(low, now + 9_999)).toBe(true);
    expect(nearLimit(low, now + 10_000)).toBe(false);
    expect(nearLimit(from({ 'x-ratelimit-limit-requests': '1000', 'x-ratelimit-remaining-requests': '60' }), now)).toBe(false);
    const fewLeft = from({ 'x-ratelimit-remaining-requests': '2' });
    expect(nearLimit(fewLeft, now + 59_999)).toBe(true);
    expect(nearLimit(fewLeft, now + 60_000)).toBe(false);
    expect(nearLimit(from({ 'x-ratelimit-remaining-tokens': '0' }), now)).toBe(true);
    expect(nearLimit(from({ 'x-ratelimit-remaining-tokens': '1' }), now)).toBe(false);
    expect(nearLimit(undefined, now)).toBe(false);
  });
});
