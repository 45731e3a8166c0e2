/**
 * Prompt complexity, in process and without a model: simple, medium or complex, from signals of the
 * request rather than its length or keywords alone (a short proof is hard; a long pasted text to
 * summarise in one line is easy).
 *
 * The signals are read mostly from the **instruction** of the last user message (its first and last
 * lines, where people put what they want, not the pasted material in between), plus the shape of the
 * request: code in it, maths, numbered steps, constraints, structured output or tools, conversation
 * depth, the task type. Each signal is a number; the score is a weighted sum (a logistic model whose
 * weights are data, `config/complexity.json`, fitted by `npm run fit-complexity` on the labelled set
 * in test/fixtures); two thresholds cut it into the three classes.
 */
import * as z from 'zod';
import type { TaskType } from './route-table';

export const COMPLEXITIES = ['simple', 'medium', 'complex'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/** The signals, in a fixed order (the weights file names each). */
export const SIGNALS = [
  'reasoning',
  'maths',
  'codeAsk',
  'codeBlock',
  'steps',
  'constraints',
  'structured',
  'tools',
  'depth',
  'easyAsk',
  'pastedRatio',
  'instructionLength',
  'questions',
  'taskMessage',
  'taskPlanning',
  'planScope',
] as const;
export type Signal = (typeof SIGNALS)[number];

export const ComplexityModelSchema = z.strictObject({
  version: z.literal(1),
  bias: z.number(),
  weights: z.strictObject(Object.fromEntries(SIGNALS.map((s) => [s, z.number()])) as Record<Signal, z.ZodNumber>),
  /** Probability of "complex" under which a prompt is simple, and over which it is complex (medium between). */
  thresholds: z.strictObject({ simple: z.number().min(0).max(1), complex: z.number().min(0).max(1) }),
  /** How the weights were obtained (the fit's data and accuracy), for whoever reads the file. */
  fit: z.record(z.string(), z.unknown()).optional(),
});
export type ComplexityModel = z.infer<typeof ComplexityModelSchema>;

export interface ComplexityResult {
  complexity: Complexity;
  /** Probability that the prompt needs a quality model (0..1). */
  score: number;
  /** How sure the class is: 0 at a threshold, 1 far from both. */
  confidence: number;
  signals: Record<Signal, number>;
}

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
const saturate = (n: number, at: number) => Math.min(n, at) / at;

const REASONING =
  /\b(prove|proof|derive|justify|why (?:does|do|is|are|would)|explain why|step[- ]by[- ]step|reason(?:ing)? (?:about|through)|analy[sz]e|analysis|compare|trade-?offs?|evaluate|implications?|optimal|optimi[sz]e|figure out|work out|determine whether|is it (?:legal|true|possible)|what should (?:i|we)|pros and cons|critique|design (?:a|an|the)|architecture|strategy|diagnos|root cause|counter-?example|edge cases?|démontrer|demuestra)\b/gi;
const MATHS =
  /(\b(?:theorem|lemma|integral|derivative of|prime|irrational|probability|expected value|equation|polynomial|matrix|eigen\w*|modulo|factorial|combinatori\w*|big-?o|asymptotic|converge\w*|induction)\b|[=<>]\s*\d|\d\s*[\^*/+-]\s*\d|√|∑|∫|O\(n)/gi;
const CODE_ASK =
  /\b(implement|refactor|debug|bug|stack ?trace|exception|race condition|deadlock|concurren\w*|thread-?safe|algorithm|data structure|complexity|unit tests?|optimi[sz]e (?:this|the) (?:code|query|function)|write (?:a|an) (?:function|class|program|script|parser|service)|sql|typescript|python|java|rust|golang|c\+\+|kotlin|api design|schema)\b/gi;
const STEPS = /(^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S/g;
const CONSTRAINTS =
  /\b(must|should|at least|at most|no more than|exactly|without|don't|do not|never|ensure|each|every|only|between \d|under \d+|within|include|exclude|avoid|budget|deadline)\b/gi;
const EASY =
  /\b(summari[sz]e (?:it |this )?in (?:one|a single|1) (?:line|sentence)|one[- ]line summary|tl;?dr|translate|extract|fix (?:the )?typos?|spelling|rephrase|rewrite (?:this|it)|reword|what is (?:the|his|her|their) (?:name|email|date|address|phone)|which (?:date|email)|list the names|thank(?:s| you)?|caption|emoji|greeting|say hi|short (?:reply|message|answer)|in one sentence|one word|yes or no|quick question|what does .{1,30} mean|define|hello world|résume|resume en una)\b/gi;

/**
 * The most of a message any signal reads: a 1 MB body is classified in the same time as a 16 KB one,
 * and no pattern below can backtrack over more than this (they are written not to backtrack at all).
 */
const MAX_SCANNED_CHARS = 16_384;

/** The part of a long message that asks for something: its first and last 400 characters. */
function instructionOf(text: string): string {
  return text.length <= 900 ? text : `${text.slice(0, 400)}\n${text.slice(-400)}`;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
    .join('\n');
}

/** The signals of a chat request (exported for the fit script and tests). */
export function signalsOf(body: Record<string, unknown>, taskType: TaskType): Record<Signal, number> {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Array<{ role?: unknown; content?: unknown }>) : [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const full = textOf(lastUser?.content);
  // Pasted material is measured by its length; only its head and tail are read.
  const text = full.length <= MAX_SCANNED_CHARS ? full : `${full.slice(0, MAX_SCANNED_CHARS / 2)}\n${full.slice(-MAX_SCANNED_CHARS / 2)}`;
  const instruction = instructionOf(full);
  const system = textOf(messages.find((m) => m.role === 'system' || m.role === 'developer')?.content);
  const asked = `${instruction}\n${system.slice(0, 400)}`;
  const format = body['response_format'] as { type?: unknown } | undefined;
  const turns = messages.filter((m) => m.role === 'user' || m.role === 'assistant').length;
  return {
    reasoning: saturate(count(asked, REASONING), 3),
    maths: saturate(count(instruction, MATHS), 3),
    codeAsk: saturate(count(asked, CODE_ASK), 3),
    codeBlock:
      /```|\bfunction\b[ \t\w]{0,40}\(|\bdef \w{1,60}\(|\bclass \w|=>[ \t]{0,8}\{|;[ \t]{0,8}\n[ \t]{0,40}(?:return|if|for|while)\b/.test(
        text,
      )
        ? 1
        : 0,
    steps: saturate(count(instruction, STEPS), 6),
    constraints: saturate(count(asked, CONSTRAINTS), 8),
    structured: format?.type === 'json_schema' ? 1 : 0,
    tools: Array.isArray(body['tools']) && body['tools'].length > 0 ? 1 : 0,
    depth: saturate(Math.max(0, turns - 1), 8),
    easyAsk: saturate(count(asked, EASY), 2),
    pastedRatio: full.length > 900 ? 1 - instruction.length / full.length : 0,
    instructionLength: saturate(instruction.length, 900),
    questions: saturate(count(instruction, /\?/g), 4),
    taskMessage: taskType === 'message_generation' ? 1 : 0,
    taskPlanning: taskType === 'content_planning' ? 1 : 0,
    planScope: taskType === 'content_planning' ? saturate(count(instruction, /\b(\d+)[- ](?:day|week|month|post|platform)s?\b/gi), 3) : 0,
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The probability of "complex" for given signals. */
export function scoreOf(signals: Record<Signal, number>, model: ComplexityModel): number {
  let z = model.bias;
  for (const signal of SIGNALS) z += model.weights[signal] * signals[signal];
  return sigmoid(z);
}

export function classifyComplexity(body: Record<string, unknown>, taskType: TaskType, model: ComplexityModel): ComplexityResult {
  const signals = signalsOf(body, taskType);
  const score = scoreOf(signals, model);
  const { simple, complex } = model.thresholds;
  const complexity: Complexity = score >= complex ? 'complex' : score < simple ? 'simple' : 'medium';
  // Distance to the nearest threshold, scaled to the room on that side.
  const confidence =
    complexity === 'complex'
      ? (score - complex) / Math.max(1e-9, 1 - complex)
      : complexity === 'simple'
        ? (simple - score) / Math.max(1e-9, simple)
        : 1 - Math.min(score - simple, complex - score) / Math.max(1e-9, (complex - simple) / 2);
  return { complexity, score: Number(score.toFixed(4)), confidence: Number(Math.max(0, Math.min(1, confidence)).toFixed(3)), signals };
}
