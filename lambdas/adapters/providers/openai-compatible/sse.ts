/** Minimal server-sent-events reader: turns a byte stream into events (`event` name and joined `data`). */

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Reads events from `body` (a Node or WHATWG byte stream); calls `onFirstBytes` when the first bytes arrive. */
export async function* readSse(body: AsyncIterable<Uint8Array>, onFirstBytes: () => void): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  for await (const value of body) {
    if (first) {
      first = false;
      onFirstBytes();
    }
    buffer += decoder.decode(value, { stream: true });
    if (buffer.includes('\r')) buffer = buffer.replace(/\r\n?/g, '\n');
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const event = parseEvent(buffer.slice(0, boundary));
      buffer = buffer.slice(boundary + 2);
      if (event) yield event;
      boundary = buffer.indexOf('\n\n');
    }
  }
  const tail = parseEvent(buffer + decoder.decode());
  if (tail) yield tail;
}

function parseEvent(block: string): SseEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}
