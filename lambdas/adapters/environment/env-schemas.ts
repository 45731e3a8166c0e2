/** zod pieces for environment variables: the configuration's and each provider module's own variables are read with these. */
import * as z from 'zod';

/** `true`/`false`/`1`/`0`. */
export const envBool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** An integer within bounds, from its decimal text. */
export const envInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A trimmed string; unset and blank both read as `undefined`. */
export const envString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** An optional URL (blank reads as unset). */
export const envUrl = envString.pipe(z.url().optional());
