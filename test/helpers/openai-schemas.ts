/**
 * Validators for OpenAI's published schemas (test/fixtures/openai-spec, a copy of
 * ../shared/openai-spec). The document uses OpenAPI 3.0's `nullable` inside 3.1 schemas and the
 * custom format `unixtime`; both are translated here, as the spec's README says.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SPEC_PATH = join(__dirname, '..', 'fixtures', 'openai-spec', 'chat-completions-schemas.json');

function translateNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(translateNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable') continue;
    out[key] = translateNullable(value);
  }
  if ((node as Record<string, unknown>)['nullable'] === true) {
    if (typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
    else if (Array.isArray(out['type'])) out['type'] = [...(out['type'] as unknown[]), 'null'];
    if (Array.isArray(out['enum'])) out['enum'] = [...(out['enum'] as unknown[]), null];
    if (!('type' in out) && !('enum' in out)) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

let ajv: Ajv2020 | undefined;
function instance(): Ajv2020 {
  if (ajv) return ajv;
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, unknown> } };
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) });
  ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addSchema({ $id: 'openai', components: { schemas: translateNullable(spec.components.schemas) } });
  return ajv;
}

const cache = new Map<string, ValidateFunction>();
function validator(name: string): ValidateFunction {
  let fn = cache.get(name);
  if (!fn) {
    fn = instance().compile({ $ref: `openai#/components/schemas/${name}` });
    cache.set(name, fn);
  }
  return fn;
}

export type OpenAiSchemaName =
  'CreateChatCompletionResponse' | 'CreateChatCompletionStreamResponse' | 'ErrorResponse' | 'ListModelsResponse' | 'Model';

/** Errors of `value` against the named schema (empty when it conforms). */
export function schemaErrors(name: OpenAiSchemaName, value: unknown): ErrorObject[] {
  const fn = validator(name);
  return fn(value) ? [] : [...(fn.errors ?? [])];
}

/** Jest-friendly: expect(conformance('ErrorResponse', body)).toEqual([]). */
export function conformance(name: OpenAiSchemaName, value: unknown): string[] {
  return schemaErrors(name, value).map((e) => `${e.instancePath} ${e.message}`);
}
