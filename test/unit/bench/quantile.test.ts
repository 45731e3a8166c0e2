import { quantile } from '../../../bench/processes';

describe('quantile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('takes the value at floor(q x n) of an ascending sample', () => {
    expect(quantile(hundred, 0.5)).toBe(51);
    expect(quantile(hundred, 0.99)).toBe(100);
    expect(quantile([0.25, 0.5, 4], 0.5)).toBe(0.5);
  });

  it('stays within the sample at q = 1', () => {
    expect(quantile(hundred, 1)).toBe(100);
  });
});
