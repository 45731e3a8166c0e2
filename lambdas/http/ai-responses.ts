/** What every AI route answers with besides its body: the routing headers, and streams as server-sent events. */
import type { Context } from 'hono';
import type { Routing } from '../core/ai/ai-requests';
import type { AnswerStream } from '../core/ai/answer-stream';
import type { AppEnv } from './context';

/** `x-orchestrator-path`, `-provider`, `-model`, `-fallback` and `-attempts` from how the request was routed. */
export function routingHeaders(c: Context<AppEnv>, routing: Routing): void {
  const { trace } = routing;
  const sent = trace.attempts.filter((a) => a.outcome !== 'skipped');
  c.header('x-orchestrator-path', routing.path);
  c.header('x-orchestrator-provider', trace.chosen?.provider ?? sent.at(-1)?.provider ?? 'none');
  c.header('x-orchestrator-model', trace.chosen?.model ?? sent.at(-1)?.model ?? 'none');
  c.header('x-orchestrator-fallback', String(trace.fallback));
  c.header('x-orchestrator-attempts', String(sent.length));
}

const encoder = new TextEncoder();

/** The stream as `data: ...\n\n` events; the client leaving cancels it (and the upstream call). */
export function sseResponse(c: Context<AppEnv>, stream: AnswerStream): Response {
  const events = stream[Symbol.asyncIterator]();
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await events.next();
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(`data: ${next.value}\n\n`));
    },
    cancel() {
      stream.cancel();
    },
  });
  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  c.header('x-accel-buffering', 'no');
  return c.body(readable, 200);
}
