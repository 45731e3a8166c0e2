import { readSse } from '../../../lambdas/adapters/providers/openai-compatible/sse';

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

async function collect(parts: string[]) {
  const events = [];
  let firstBytes = 0;
  for await (const event of readSse(streamOf(parts), () => firstBytes++)) events.push(event);
  return { events, firstBytes };
}

describe('readSse', () => {
  it('splits events, even when they arrive cut at arbitrary bytes', async () => {
    const { events, firstBytes } = await collect(['data: {"a":', '1}\n', '\ndata: [DONE]', '\n\n']);
    expect(events).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '[DONE]' },
    ]);
    expect(firstBytes).toBe(1);
  });

  it('handles CRLF line endings, comments, event names and multi-line data', async () => {
    const { events } = await collect([': keep-alive\r\n\r\nevent: error\r\ndata: line1\r\ndata: line2\r\n\r\n']);
    expect(events).toEqual([{ event: 'error', data: 'line1\nline2' }]);
  });

  it('yields a final event that lacks the blank line', async () => {
    const { events } = await collect(['data: tail']);
    expect(events).toEqual([{ event: undefined, data: 'tail' }]);
  });

  it('decodes multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 8));
        controller.enqueue(bytes.slice(8));
        controller.close();
      },
    });
    const events = [];
    for await (const event of readSse(body, () => undefined)) events.push(event.data);
    expect(events).toEqual(['héllo']);
  });
});
