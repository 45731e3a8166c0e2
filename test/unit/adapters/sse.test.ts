import { PassThrough, Readable } from 'node:stream';
import { eachSseEvent, type SseEvent } from '../../../lambdas/adapters/providers/openai-compatible/sse';

/** A Node byte stream that yields `parts` as separate chunks. */
const streamOf = (parts: Array<string | Uint8Array>) => Readable.from(parts.map((part) => Buffer.from(part)));

async function collect(parts: Array<string | Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  await eachSseEvent(streamOf(parts), (event) => events.push(event));
  return events;
}

describe('eachSseEvent', () => {
  it('splits events, even when they arrive cut at arbitrary bytes', async () => {
    expect(await collect(['data: {"a":', '1}\n', '\ndata: [DONE]', '\n\n'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '[DONE]' },
    ]);
  });

  it('handles CRLF line endings, comments, event names and multi-line data', async () => {
    expect(await collect([': keep-alive\r\n\r\nevent: error\r\ndata: line1\r\ndata: line2\r\n\r\n'])).toEqual([
      { event: 'error', data: 'line1\nline2' },
    ]);
  });

  it('keeps a CRLF split between chunks as one line ending (two would end the event early)', async () => {
    expect(await collect(['data: {"a":', '1}\r', '\n\r\nevent: error\r\ndata: line1\r', '\ndata: line2\r\n', '\r\ndata: tail'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: 'error', data: 'line1\nline2' },
      { event: undefined, data: 'tail' },
    ]);
  });

  it('hands on a final event that lacks the blank line', async () => {
    expect(await collect(['data: tail'])).toEqual([{ event: undefined, data: 'tail' }]);
  });

  it('decodes multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo\n\n');
    expect((await collect([bytes.slice(0, 7), bytes.slice(7, 8), bytes.slice(8)])).map((e) => e.data)).toEqual(['héllo']);
  });

  it('rejects with what the handler threw and destroys the stream', async () => {
    const body = streamOf(['data: 1\n\ndata: 2\n\n', 'data: 3\n\n']);
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
    const seen: string[] = [];
    const reading = eachSseEvent(body, (event) => seen.push(event.data));
    body.write('data: 1\n\n');
    await new Promise((resolve) => setImmediate(resolve));
    body.destroy(new Error('socket reset'));
    await expect(reading).rejects.toThrow('socket reset');
    expect(seen).toEqual(['1']);
  });
});
