/** How the gateway frames an answer's events for the client: `data:` on every line of an event, named events for Responses. */
import { Hono } from 'hono';
import { sseResponse } from '../../../lambdas/http/ai-responses';
import type { AppEnv } from '../../../lambdas/http/context';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { eachSseEvent } from '../../../lambdas/adapters/providers/openai-compatible/sse';

const streamOf = (events: string[]) => ({
  cancel: () => undefined,
  async *[Symbol.asyncIterator]() {
    yield* events;
  },
});

async function framed(events: string[], named = false): Promise<string> {
  const app = new Hono<AppEnv>();
  app.get('/', (c) => sseResponse(c, streamOf(events), { named }));
  return (await app.request('/')).text();
}

it('prefixes every line of an event that spans several data lines, so a client reads it back whole', async () => {
  // An upstream may split one JSON event over several `data:` lines; they are read back joined by newlines.
  const event = '{"choices":\n[]}';
  const text = await framed([event, '[DONE]']);
  expect(text).toBe('data: {"choices":\ndata: []}\n\ndata: [DONE]\n\n');
  const read: string[] = [];
  await eachSseEvent(Readable.fromWeb(new Response(text).body as NodeReadableStream<Uint8Array>), (e) => read.push(e.data));
  expect(read).toEqual([event, '[DONE]']);
});

it('names Responses events after their type', async () => {
  expect(await framed(['{"type":"response.completed"}'], true)).toBe('event: response.completed\ndata: {"type":"response.completed"}\n\n');
});
