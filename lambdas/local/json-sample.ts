/**
 * A value that satisfies a JSON Schema, for the simulated upstreams: tool-call arguments and
 * structured outputs that client helpers (openai-node `parse` and `runTools`, Pydantic, the Vercel AI
 * SDK's `generateObject`, LangChain's `withStructuredOutput`) accept. Covers what those helpers emit:
 * objects with required and optional properties, `$ref` into `$defs`/`definitions`, `anyOf`/`oneOf`/
 * `allOf`, `enum`, `const`, type lists with `null`, string formats, number bounds, array bounds.
 */
type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;
/** Past this depth only what the schema requires is filled, so recursive schemas end in valid leaves. */
const OPTIONAL_DEPTH = 4;

function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current['$ref'] === 'string' && hops < 20; hops++) {
    const path = (current['$ref'] as string).replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const part of path) target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (!target || typeof target !== 'object') return {};
    const { $ref: _ref, ...rest } = current;
    current = { ...(target as Schema), ...rest };
  }
  return current;
}

function sampleString(schema: Schema, hint: string): string {
  switch (schema['format']) {
    case 'date-time':
      return '2026-01-15T10:00:00Z';
    case 'date':
      return '2026-01-15';
    case 'time':
      return '10:00:00';
    case 'email':
      return 'sam@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'uuid':
      return '123e4567-e89b-42d3-a456-426614174000';
  }
  const base = hint ? `simulated ${hint}` : 'simulated';
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Number.POSITIVE_INFINITY;
  return base.padEnd(min, 'x').slice(0, Math.max(min, Math.min(max, base.length)));
}

function sampleNumber(schema: Schema, integer: boolean): number {
  const min =
    typeof schema['minimum'] === 'number'
      ? schema['minimum']
      : typeof schema['exclusiveMinimum'] === 'number'
        ? schema['exclusiveMinimum'] + 1
        : undefined;
  const max =
    typeof schema['maximum'] === 'number'
      ? schema['maximum']
      : typeof schema['exclusiveMaximum'] === 'number'
        ? schema['exclusiveMaximum'] - 1
        : undefined;
  let value = min ?? (max !== undefined ? Math.min(0, max) : 1);
  if (max !== undefined && value > max) value = max;
  return integer ? Math.ceil(value) : value;
}

/** A value that validates against `schema` (`root` resolves `$ref`s; `hint` names strings after their property). */
export function sampleOf(schema: unknown, root: Schema = (schema ?? {}) as Schema, hint = '', depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > MAX_DEPTH) return null;
  const s = resolve(schema as Schema, root);
  if ('const' in s) return s['const'];
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) {
      // Prefer a branch that is not just `null` (Pydantic's Optional[...] lists null second, zod's first).
      const branch = (options as Schema[]).find((o) => resolve(o, root)['type'] !== 'null') ?? options[0];
      return sampleOf(branch, root, hint, depth + 1);
    }
  }
  if (Array.isArray(s['allOf'])) {
    const merged = (s['allOf'] as Schema[]).reduce<Schema>((acc, part) => {
      const r = resolve(part, root);
      return {
        ...acc,
        ...r,
        properties: { ...(acc['properties'] as Schema), ...(r['properties'] as Schema) },
        required: [...((acc['required'] as string[]) ?? []), ...((r['required'] as string[]) ?? [])],
      };
    }, {});
    return sampleOf(merged, root, hint, depth + 1);
  }
  const types = Array.isArray(s['type'])
    ? (s['type'] as string[])
    : [s['type'] ?? (s['properties'] ? 'object' : s['items'] ? 'array' : 'string')];
  const type = types.find((t) => t !== 'null') ?? 'null';
  switch (type) {
    case 'object': {
      const properties = (s['properties'] ?? {}) as Record<string, unknown>;
      const required = new Set(Array.isArray(s['required']) ? (s['required'] as string[]) : []);
      const filled = Object.entries(properties).filter(([name]) => depth < OPTIONAL_DEPTH || required.has(name));
      return Object.fromEntries(filled.map(([name, p]) => [name, sampleOf(p, root, name, depth + 1)]));
    }
    case 'array': {
      const wanted = depth < OPTIONAL_DEPTH ? 1 : 0;
      const count = typeof s['minItems'] === 'number' ? Math.max(wanted, s['minItems']) : wanted;
      const max = typeof s['maxItems'] === 'number' ? s['maxItems'] : count;
      return Array.from({ length: Math.min(count, max) }, () => sampleOf(s['items'] ?? {}, root, hint, depth + 1));
    }
    case 'integer':
      return sampleNumber(s, true);
    case 'number':
      return sampleNumber(s, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return sampleString(s, hint);
  }
}
