/** Reading and validating request bodies: malformed JSON and schema violations become 400s naming the field. */
import type { Context } from 'hono';
import type * as z from 'zod';
import { badRequest, paramFromPath, type ErrorSpec } from './errors';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorSpec };

/** Parses the JSON body against `schema`. */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<Parsed<z.infer<S>>> {
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: badRequest('We could not parse the JSON body of your request. Send valid JSON.', null, 'invalid_json') };
  }
  return validate(schema, json);
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.infer<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const param = issue ? paramFromPath(issue.path) : null;
  const message = issue ? `Invalid ${param ?? 'body'}: ${issue.message}` : 'Invalid request.';
  return { ok: false, error: badRequest(message, param, 'invalid_value') };
}
