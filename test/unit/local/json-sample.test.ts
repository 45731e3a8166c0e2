/**
 * The simulated upstream's sample values validate against the schemas client helpers send, checked
 * with a real JSON Schema validator (draft 2020-12 keywords the helpers use).
 */
import Ajv from 'ajv';
import { sampleOf } from '../../../lambdas/local/json-sample';

const ajv = new Ajv({ strict: false, validateFormats: false });

const schemas: Record<string, object> = {
  'pydantic model with $defs, Optional and bounds': {
    $defs: {
      Post: {
        type: 'object',
        properties: { day: { type: 'integer', minimum: 1, maximum: 7 }, caption: { type: 'string', minLength: 20 } },
        required: ['day', 'caption'],
      },
    },
    type: 'object',
    properties: {
      posts: { type: 'array', items: { $ref: '#/$defs/Post' }, minItems: 3 },
      note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      score: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 10 },
    },
    required: ['posts', 'note', 'score'],
  },
  'zod-style nullable first, enum, const, type list': {
    type: 'object',
    properties: {
      kind: { const: 'plan' },
      tone: { type: 'string', enum: ['warm', 'playful'] },
      at: { anyOf: [{ type: 'null' }, { type: 'string', format: 'date-time' }] },
      tags: { type: ['array', 'null'], items: { type: 'string', maxLength: 4 } },
    },
    required: ['kind', 'tone', 'at', 'tags'],
    additionalProperties: false,
  },
  'allOf merging two objects': {
    allOf: [
      { type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'] },
      { type: 'object', properties: { b: { type: 'integer', maximum: -3 } }, required: ['b'] },
    ],
  },
  'recursive tree stops at depth and stays valid': {
    $defs: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
    $ref: '#/$defs/Node',
  },
};

describe('sampleOf', () => {
  it.each(Object.entries(schemas))('%s', (_name, schema) => {
    const validate = ajv.compile(schema);
    const value = sampleOf(schema);
    expect({ valid: validate(value), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
  });
});
