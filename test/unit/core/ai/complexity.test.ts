/**
 * The complexity classifier against the labelled set (test/fixtures/complexity-prompts.json): how
 * often it is right, how many complex prompts reach the quality tier, and how it does on the prompts
 * the shipped weights were not fitted on (ids divisible by 4). The numbers are printed for the record
 * and held to floors, so a change that makes routing worse fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyComplexity, ComplexityModelSchema } from '../../../../lambdas/core/ai/complexity';
import { evaluate, FIXTURE, isHeldOut, type LabelledPrompt } from '../../../../scripts/fit-complexity';

const model = ComplexityModelSchema.parse(
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'config', 'complexity.json'), 'utf8')),
);
const prompts = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { prompts: LabelledPrompt[] }).prompts;

describe('prompt complexity', () => {
  it('has a labelled set of at least 200 prompts, both classes and many tricky ones', () => {
    expect(prompts.length).toBeGreaterThanOrEqual(200);
    const simple = prompts.filter((p) => p.label === 'simple').length;
    expect(simple).toBeGreaterThan(prompts.length * 0.35);
    expect(prompts.length - simple).toBeGreaterThan(prompts.length * 0.35);
    expect(prompts.filter((p) => p.tricky).length).toBeGreaterThanOrEqual(60);
    expect(new Set(prompts.map((p) => p.id)).size).toBe(prompts.length);
  });

  it('classifies the labelled set well, and sends complex prompts to the quality tier', () => {
    const all = evaluate(prompts, model);
    const holdout = evaluate(prompts.filter(isHeldOut), model);
    process.stdout.write(`complexity on the labelled set: ${JSON.stringify({ all, holdout })}\n`);
    expect(all.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(all.complexToQuality).toBeGreaterThanOrEqual(0.95);
    expect(all.complexToFast).toBeLessThanOrEqual(0.05);
    expect(all.simpleToFast).toBeGreaterThanOrEqual(0.5);
    expect(holdout.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(holdout.complexToQuality).toBeGreaterThanOrEqual(0.9);
  });

  it('gets the classic traps right: a short proof is complex, a long text to summarise in one line is simple', () => {
    const ask = (content: string) => classifyComplexity({ messages: [{ role: 'user', content }] }, 'general', model).complexity;
    expect(ask('Prove that the square root of 2 is irrational.')).toBe('complex');
    const pasted = 'Our shop opens at nine, closes at six, and the staff are friendly and helpful to every visitor. '.repeat(40);
    expect(ask(`${pasted}\n\nSummarise this in one line.`)).toBe('simple');
  });

  it('is deterministic and reports its signals', () => {
    const body = {
      messages: [{ role: 'user', content: 'Implement an LRU cache with TTL in TypeScript and explain the concurrency issues.' }],
    };
    const a = classifyComplexity(body, 'general', model);
    expect(classifyComplexity(body, 'general', model)).toEqual(a);
    expect(a.signals.codeAsk).toBeGreaterThan(0);
    expect(a.confidence).toBeGreaterThanOrEqual(0);
    expect(a.confidence).toBeLessThanOrEqual(1);
  });
});

describe('prompt complexity on hostile input', () => {
  it('reads a bounded part of a 1 MB message, so pathological text cannot stall the instance', () => {
    const hostile = `function${' '.repeat(1_000_000)}`;
    const semicolons = `;${' '.repeat(500_000)}\n${' '.repeat(500_000)}x`;
    for (const content of [hostile, semicolons]) {
      const result = classifyComplexity({ messages: [{ role: 'user', content }] }, 'general', model);
      expect(['simple', 'medium', 'complex']).toContain(result.complexity);
      expect(result.signals.pastedRatio).toBeGreaterThan(0.99);
    }
  });
});
