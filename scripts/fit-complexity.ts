/**
 * `npm run fit-complexity`: fits smart routing's prompt-complexity model (config/complexity.json) on
 * the labelled prompts in test/fixtures/complexity-prompts.json, and prints how it does on prompts it
 * was not fitted on.
 *
 * A logistic regression over the signals of `lambdas/core/ai/complexity.ts` (batch gradient descent,
 * L2 penalty, fixed iterations: the same data gives the same weights). A quarter of the prompts (ids
 * divisible by 4) is held out. The thresholds favour quality: `complex` is set so that at least 97% of
 * the complex training prompts reach the quality tier, `simple` so that at most 2% of them fall to
 * the fast tier; prompts between the two are medium (the balanced tier).
 *
 *   npm run fit-complexity [-- --check]   (--check: fit and print, do not write the file)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ComplexityModelSchema, scoreOf, SIGNALS, signalsOf, type ComplexityModel, type Signal } from '../lambdas/core/ai/complexity';
import type { TaskType } from '../lambdas/core/ai/route-table';
import { answerHelp } from './help';

answerHelp(__filename);

export interface LabelledPrompt {
  id: string;
  label: 'simple' | 'complex';
  taskType: TaskType;
  tricky?: boolean;
  messages: Array<{ role: string; content: string }>;
  tools?: boolean;
  jsonSchema?: boolean;
}

const ROOT = join(__dirname, '..');
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'complexity-prompts.json');

/** The chat request a labelled prompt stands for. */
export function requestOf(p: LabelledPrompt): Record<string, unknown> {
  return {
    model: 'auto',
    messages: p.messages,
    ...(p.tools ? { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] } : {}),
    ...(p.jsonSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } } } : {}),
  };
}

export const isHeldOut = (p: LabelledPrompt) => Number(p.id.replace(/\D/g, '')) % 4 === 0;

function fit(rows: Array<{ x: number[]; y: number }>): { bias: number; weights: number[] } {
  const n = SIGNALS.length;
  let bias = 0;
  const weights = new Array<number>(n).fill(0);
  const rate = 0.5;
  const lambda = 0.002;
  for (let iteration = 0; iteration < 6000; iteration++) {
    let gradBias = 0;
    const grad = new Array<number>(n).fill(0);
    for (const { x, y } of rows) {
      let z = bias;
      for (let i = 0; i < n; i++) z += weights[i]! * x[i]!;
      const error = 1 / (1 + Math.exp(-z)) - y;
      gradBias += error;
      for (let i = 0; i < n; i++) grad[i]! += error * x[i]!;
    }
    bias -= (rate * gradBias) / rows.length;
    for (let i = 0; i < n; i++) weights[i] = weights[i]! - rate * (grad[i]! / rows.length + lambda * weights[i]!);
  }
  return { bias, weights };
}

/** The score under which only `share` of the scores lie (scores sorted ascending). */
function quantile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(share * sorted.length)))]!;
}

export interface Evaluation {
  prompts: number;
  /** Simple labelled simple and complex labelled complex, counting medium as "not complex". */
  accuracy: number;
  /** Complex prompts classified complex (what cost-optimised routing sends to the quality tier). */
  complexToQuality: number;
  /** Simple prompts classified simple (sent to the fast tier). */
  simpleToFast: number;
  /** Complex prompts classified simple (sent to the fast tier: the costly mistake). */
  complexToFast: number;
  trickyAccuracy: number;
}

export function evaluate(prompts: LabelledPrompt[], model: ComplexityModel): Evaluation {
  const classOf = (p: LabelledPrompt) => {
    const score = scoreOf(signalsOf(requestOf(p), p.taskType), model);
    return score >= model.thresholds.complex ? 'complex' : score < model.thresholds.simple ? 'simple' : 'medium';
  };
  const results = prompts.map((p) => ({ p, c: classOf(p) }));
  const right = (r: { p: LabelledPrompt; c: string }) => (r.p.label === 'complex' ? r.c === 'complex' : r.c !== 'complex');
  const complex = results.filter((r) => r.p.label === 'complex');
  const simple = results.filter((r) => r.p.label === 'simple');
  const tricky = results.filter((r) => r.p.tricky);
  const share = (n: number, d: number) => (d === 0 ? 0 : Number((n / d).toFixed(4)));
  return {
    prompts: prompts.length,
    accuracy: share(results.filter(right).length, results.length),
    complexToQuality: share(complex.filter((r) => r.c === 'complex').length, complex.length),
    simpleToFast: share(simple.filter((r) => r.c === 'simple').length, simple.length),
    complexToFast: share(complex.filter((r) => r.c === 'simple').length, complex.length),
    trickyAccuracy: share(tricky.filter(right).length, tricky.length),
  };
}

function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const prompts = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { prompts: LabelledPrompt[] }).prompts;
  const train = prompts.filter((p) => !isHeldOut(p));
  const holdout = prompts.filter(isHeldOut);
  const rows = train.map((p) => {
    const s = signalsOf(requestOf(p), p.taskType);
    return { x: SIGNALS.map((k) => s[k]), y: p.label === 'complex' ? 1 : 0 };
  });
  const { bias, weights } = fit(rows);
  const round = (n: number) => Number(n.toFixed(3));
  const draft: ComplexityModel = {
    version: 1,
    bias: round(bias),
    weights: Object.fromEntries(SIGNALS.map((k, i) => [k, round(weights[i]!)])) as Record<Signal, number>,
    thresholds: { simple: 0, complex: 1 },
  };
  const complexScores = train
    .filter((p) => p.label === 'complex')
    .map((p) => scoreOf(signalsOf(requestOf(p), p.taskType), draft))
    .sort((a, b) => a - b);
  const complexAt = Math.min(0.5, quantile(complexScores, 0.03));
  const simpleAt = Math.min(complexAt, quantile(complexScores, 0.02));
  draft.thresholds = { simple: Number(simpleAt.toFixed(4)), complex: Number(complexAt.toFixed(4)) };
  const model: ComplexityModel = {
    ...draft,
    fit: {
      by: 'npm run fit-complexity',
      data: 'test/fixtures/complexity-prompts.json',
      trainPrompts: train.length,
      train: evaluate(train, draft),
      holdout: evaluate(holdout, draft),
    },
  };
  ComplexityModelSchema.parse(model);
  process.stdout.write(`${JSON.stringify(model.fit, null, 2)}\nthresholds ${JSON.stringify(model.thresholds)}\n`);
  if (!values.check) {
    writeFileSync(join(ROOT, 'config', 'complexity.json'), `${JSON.stringify(model, null, 2)}\n`);
    process.stdout.write('written to config/complexity.json\n');
  }
}

if (require.main === module) main();
