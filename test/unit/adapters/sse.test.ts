import { PassThrough, Readable } from 'node:stream';
import { eachSseEvent, readSse, type SseEvent } from '../../../lambdas/adapters/providers/openai-compatible/sse';

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

describe('eachSseEvent (a Node stream, an event at a time)', () => {
  const nodeStream = (parts: Array<string | Uint8Array>) =>
    Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

  it('hands on the same events as readSse, cut anywhere, CRLF split between chunks included', async () => {
    const parts = ['data: {"a":', '1}\r', '\n\r\nevent: error\r\ndata: line1\r', '\ndata: line2\r\n', '\r\ndata: tail'];
    const seen: SseEvent[] = [];
    await eachSseEvent(nodeStream(parts), (event) => seen.push(event));
    const read: SseEvent[] = [];
    for await (const event of readSse(streamOf(parts), () => undefined)) read.push(event);
    expect(seen).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: 'error', data: 'line1\nline2' },
      { event: undefined, data: 'tail' },
    ]);
    expect(read).toEqual(seen);
  });

  it('rejects with what the handler threw and destroys the stream', async () => {
    const body = nodeStream(['data: 1\n\ndata: 2\n\n', 'data: 3\n\n']);
    const seen: string[] = [];
    const failure = new Error('stop here');
    await expect(
      eachSseEvent(body, (event) => {
        seen.push(event.data);
        if (event.data === '2') throw failure;
      }),
    ).rejects.toBe(failure);
    expect(seen).toEqual(['1', '2']);
    expect(body.destroyed).toBe(true);
  });

  it('rejects when the stream fails before its end', async () => {
    const body = new PassThrough();
    const reading = eachSseEvent(body, () => undefined);
    body.write('data: 1\n\n');
    body.destroy(new Error('socket reset'));
    await expect(reading).rejects.toThrow('socket reset');
  });
});
