/**
 * Resolves with `promise`'s value, or with `fallback` when it fails or takes longer than `ms` of real
 * time: a bound on waiting, never part of a decision's logic (the injected clock decides those).
 */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref?.();
  });
  return Promise.race([promise.catch(() => fallback), timeout]).finally(() => clearTimeout(timer));
}
