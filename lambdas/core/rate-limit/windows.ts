/**
 * Calendar windows in UTC. A window is named by a small integer index (minutes, hours or days since
 * the epoch; months since year 0), which is what the counters store: compact, and equal for every
 * instance whose clock falls in the same window.
 */
export const WINDOW_KINDS = ['minute', 'hour', 'day', 'month'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

const FIXED_MS: Record<Exclude<WindowKind, 'month'>, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** The index of the window of `kind` that contains the instant `ms`. */
export function windowIndex(kind: WindowKind, ms: number): number {
  if (kind === 'month') {
    const date = new Date(ms);
    return date.getUTCFullYear() * 12 + date.getUTCMonth();
  }
  return Math.floor(ms / FIXED_MS[kind]);
}

/** Start of window `index` (epoch ms, inclusive). */
export function windowStartOf(kind: WindowKind, index: number): number {
  if (kind === 'month') return Date.UTC(Math.floor(index / 12), index % 12, 1);
  return index * FIXED_MS[kind];
}

/** End of window `index` (epoch ms, exclusive): the start of the next one. */
export function windowEndOf(kind: WindowKind, index: number): number {
  return windowStartOf(kind, index + 1);
}

/** When the window containing `ms` resets. */
export function windowReset(kind: WindowKind, ms: number): number {
  return windowEndOf(kind, windowIndex(kind, ms));
}

/** Whole seconds until the window containing `ms` resets, at least 1 (the `Retry-After` value). */
export function secondsUntilReset(kind: WindowKind, ms: number): number {
  return Math.max(1, Math.ceil((windowReset(kind, ms) - ms) / 1000));
}

/** A duration the way OpenAI's `x-ratelimit-reset-*` headers write it: `59s`, `6m0s`, `1h2m3s`, `250ms`. */
export function formatResetDuration(ms: number): string {
  const clamped = Math.max(0, Math.ceil(ms));
  if (clamped < 1000) return `${clamped}ms`;
  const totalSeconds = Math.ceil(clamped / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
