/**
 * `compute` with its results kept, for at most `capacity` keys: emptied when full, which bounds its
 * memory. For pure functions only (a kept result never expires).
 */
export function keptUpTo<T>(capacity: number, compute: (key: string) => T): (key: string) => T {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`keptUpTo: capacity ${capacity} is not a positive integer`);
  const kept = new Map<string, T>();
  return (key) => {
    if (kept.has(key)) return kept.get(key)!;
    const value = compute(key);
    if (kept.size >= capacity) kept.clear();
    kept.set(key, value);
    return value;
  };
}
