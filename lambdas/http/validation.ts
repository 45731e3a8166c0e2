/** Reading and validating request bodies: malformed JSON and schema violations become 400s naming the field. */
import type { Context } from 'hono';
import type * as z from 'zod';
import { dayStart } from '../core/utc-day';
import { echoed } from '../core/errors';
import { badRequest, paramFromPath, type ErrorSpec } from './errors';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorSpec; status?: 415 };

/** A JSON media type (`application/json`, `application/merge-patch+json`, ...), with or without parameters. */
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * Parses the JSON body against `schema`. A body declared as something other than JSON is refused, not
 * guessed at. `emptyAs`: what an empty body stands for, on a route whose body is optional.
 */
export async function parseJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { emptyAs?: unknown } = {},
): Promise<Parsed<z.infer<S>>> {
  const type = c.req.header('content-type');
  if (type !== undefined && !JSON_TYPE.test(type)) {
    return {
      ok: false,
      status: 415,
      error: badRequest(
        `The body must be JSON (content-type: application/json), not ${echoed(type.split(';')[0]!)}.`,
        'content-type',
        'unsupported_media_type',
      ),
    };
  }
  const text = await c.req.text();
  if ('emptyAs' in options && text.trim() === '') return validate(schema, options.emptyAs);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: badRequest('We could not parse the JSON body of your request. Send valid JSON.', null, 'invalid_json') };
  }
  const shape = shapeProblem(json);
  if (shape) return { ok: false, error: badRequest(shape.message, shape.param, 'invalid_value') };
  return validate(schema, json);
}

/** Bounds on any JSON body, checked before its schema: deeper or wider than this is a mistake or an attack. */
export const JSON_LIMITS = { maxDepth: 64, maxArrayLength: 10_000, maxObjectKeys: 1_000 };

/**
 * The first place where `value` nests deeper than `maxDepth` or has a wider array or object than
 * allowed, named like a zod path (`tools[0].function.parameters`). Iterative: a body nested 50,000
 * levels deep cannot overflow the stack here (or anywhere after: it is refused).
 */
export function shapeProblem(value: unknown, limits = JSON_LIMITS): { message: string; param: string } | undefined {
  interface Node {
    value: unknown;
    depth: number;
    parent: Node | undefined;
    key: PropertyKey | undefined;
  }
  // Paths are built only for the node at fault: each node keeps its parent, not a copy of its path.
  const pathOf = (node: Node) => {
    const path: PropertyKey[] = [];
    for (let at: Node | undefined = node; at?.parent; at = at.parent) path.unshift(at.key!);
    return paramFromPath(path) ?? 'body';
  };
  const stack: Node[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const current = node.value;
    if (current === null || typeof current !== 'object') continue;
    if (node.depth >= limits.maxDepth)
      return { message: `${pathOf(node)} is nested more than ${limits.maxDepth} levels deep.`, param: pathOf(node) };
    if (Array.isArray(current)) {
      if (current.length > limits.maxArrayLength)
        return { message: `${pathOf(node)} has more than ${limits.maxArrayLength} items.`, param: pathOf(node) };
      for (let i = 0; i < current.length; i++) stack.push({ value: current[i], depth: node.depth + 1, parent: node, key: i });
    } else {
      const keys = Object.keys(current);
      if (keys.length > limits.maxObjectKeys)
        return { message: `${pathOf(node)} has more than ${limits.maxObjectKeys} keys.`, param: pathOf(node) };
      for (const key of keys) stack.push({ value: (current as Record<string, unknown>)[key], depth: node.depth + 1, parent: node, key });
    }
  }
  return undefined;
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.infer<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const param = issue ? paramFromPath(issue.path) : null;
  const message = issue ? `Invalid ${param ?? 'body'}: ${issue.message}` : 'Invalid request.';
  return { ok: false, error: badRequest(message, param, 'invalid_value') };
}

/** What is wrong with a range of UTC days a query asked for (`from` after `to`, or more than `maxDays`), if anything. */
/** The longest range of days a usage read covers (about a quarter). */
export const MAX_USAGE_QUERY_DAYS = 92;

/**
 * The UTC days a usage query covers: `from` to `to`, a single day when only one is given without the
 * other's default (`from` alone runs to today, `to` alone is that day), today when neither; or the 400
 * for a range that is reversed or longer than `maxDays`.
 */
export function queryDays(
  query: { from?: string | undefined; to?: string | undefined },
  today: string,
  maxDays = MAX_USAGE_QUERY_DAYS,
): { ok: true; from: string; to: string } | { ok: false; error: ErrorSpec } {
  const from = query.from ?? query.to ?? today;
  const to = query.to ?? (query.from ? today : from);
  const problem = dayRangeProblem(from, to, maxDays);
  return problem ? { ok: false, error: problem } : { ok: true, from, to };
}

export function dayRangeProblem(from: string, to: string, maxDays: number): ErrorSpec | undefined {
  if (from > to) return badRequest('`from` must not be after `to`.', 'from');
  if ((dayStart(to) - dayStart(from)) / 86_400_000 + 1 > maxDays) return badRequest(`At most ${maxDays} days per query.`, 'to');
  return undefined;
}
