/**
 * Reading OpenAI Responses API stream events (`{"type":"response.output_text.delta",...}`): their
 * type, whether they end the stream, and the text they deliver (for a cut stream's estimate).
 */

/** The events a Responses stream ends with: its response's final state. */
export const FINAL_RESPONSE_EVENTS: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

const LEADING_TYPE = /^\{\s*"type"\s*:\s*"([a-z0-9_.]+)"/;

/** An event's `type`: read from the front of the JSON where OpenAI writes it, else parsed (never a nested `type`). */
export function responsesEventType(data: string): string | undefined {
  const leading = LEADING_TYPE.exec(data)?.[1];
  if (leading) return leading;
  try {
    const type = (JSON.parse(data) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

/** The text a `*.delta` event delivers (output text, refusals, function-call arguments, reasoning summaries). */
export function responsesDeltaText(data: string): string {
  if (!data.includes('.delta"')) return '';
  try {
    const event = JSON.parse(data) as { type?: unknown; delta?: unknown };
    return typeof event.type === 'string' && event.type.endsWith('.delta') && typeof event.delta === 'string' ? event.delta : '';
  } catch {
    return '';
  }
}
