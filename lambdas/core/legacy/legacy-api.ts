/**
 * The legacy Huntaze AI endpoints (`docs/legacy-api.md`): request schemas, the prompts
 * built from their fields, and the response mapping. Shared by the orchestrated and the legacy path,
 * so both answer in exactly the same shape.
 */
import * as z from 'zod';
import type { Usage } from '../ai/ports';

const id = z.string().min(1).max(128);

export const GenerateMessageSchema = z.object({
  creatorId: id,
  fanId: id,
  fanName: z.string().max(128).optional(),
  conversation: z
    .array(z.object({ from: z.enum(['fan', 'creator']), text: z.string().min(1).max(4000) }))
    .max(50)
    .optional(),
  tone: z.enum(['flirty', 'friendly', 'professional', 'casual']).default('friendly'),
  maxLength: z.number().int().min(1).max(2000).default(500),
  instructions: z.string().max(2000).optional(),
});
export type GenerateMessageRequest = z.infer<typeof GenerateMessageSchema>;

export const PLATFORMS = ['onlyfans', 'instagram', 'tiktok', 'twitter', 'reddit'] as const;

export const ContentPlanSchema = z.object({
  creatorId: id,
  platforms: z
    .array(z.enum(PLATFORMS))
    .min(1)
    .max(5)
    .refine((list) => new Set(list).size === list.length, { message: 'platforms must be distinct' }),
  goals: z.string().min(1).max(4000),
  periodDays: z.number().int().min(1).max(31).default(7),
  postsPerDay: z.number().int().min(1).max(10).default(1),
});
export type ContentPlanRequest = z.infer<typeof ContentPlanSchema>;

type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** Chat-completion body for a message: the conversation as turns, the constraints in the system prompt. */
export function messagePrompt(request: GenerateMessageRequest): { messages: ChatMessage[]; max_tokens: number } {
  const fan = request.fanName ? `the fan ${request.fanName}` : 'the fan';
  const system =
    `You write direct messages from a content creator to ${fan}, in the creator's voice. ` +
    `Tone: ${request.tone}. Keep the message under ${request.maxLength} characters. ` +
    'Reply with the message text only: no quotes, no preamble, no explanations.';
  const turns: ChatMessage[] = (request.conversation ?? []).map((turn) => ({
    role: turn.from === 'fan' ? 'user' : 'assistant',
    content: turn.text,
  }));
  const ask = `Write the creator's next message to ${fan}.${request.instructions ? ` Also: ${request.instructions}` : ''}`;
  // About 4 characters per token, with room for the model to finish its sentence.
  return {
    messages: [{ role: 'system', content: system }, ...turns, { role: 'user', content: ask }],
    max_tokens: Math.ceil(request.maxLength / 3) + 16,
  };
}

export function planPrompt(request: ContentPlanRequest): { messages: ChatMessage[] } {
  const system =
    'You are a social media strategist for an online content creator. You draft practical, specific content plans ' +
    'in Markdown: one section per day, each post with its platform, format, caption idea and best posting time.';
  const user =
    `Draft a ${request.periodDays}-day content plan for ${request.platforms.join(', ')} ` +
    `with ${request.postsPerDay} post${request.postsPerDay === 1 ? '' : 's'} per day on each platform. Goals: ${request.goals}`;
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
  };
}

export interface LegacyUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export function legacyUsage(usage: Usage | undefined): LegacyUsage {
  return { promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0, totalTokens: usage?.totalTokens ?? 0 };
}

/** The text of the first choice of an OpenAI chat completion body, or undefined when there is none. */
export function completionText(rawBody: string): string | undefined {
  try {
    const body = JSON.parse(rawBody) as { choices?: Array<{ message?: { content?: unknown } }> };
    const content = body.choices?.[0]?.message?.content;
    return typeof content === 'string' ? content : undefined;
  } catch {
    return undefined;
  }
}

/** Cuts a message to `maxLength` characters (by code point), at a word boundary when one is near. */
export function fitMessage(text: string, maxLength: number): string {
  const trimmed = text.trim();
  const chars = Array.from(trimmed);
  if (chars.length <= maxLength) return trimmed;
  const cut = chars.slice(0, maxLength).join('');
  const space = cut.lastIndexOf(' ');
  return (space >= maxLength * 0.6 ? cut.slice(0, space) : cut).trimEnd();
}
