/**
 * A `fetch` for the openai SDK on top of `undici.request`. undici's spec-compliant `fetch` wraps
 * every body in WHATWG streams, which costs a third of a gateway hop on small completions; the SDK
 * only needs status, headers, `text()` and, for streams, `body`, so this answers with a minimal
 * Response whose body stays a Node stream until someone asks for the WHATWG one.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Agent, request } from './undici-lite';

type FetchInit = {
  method?: string;
  headers?: unknown;
  body?: unknown;
  signal?: AbortSignal | null;
  dispatcher?: Dispatcher;
};

function headerRecord(headers: unknown): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers as Array<[string, string]>);
  return headers as Record<string, string>;
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}

/** The part of `Response` the SDK and the provider adapter use. */
export class UndiciResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';
  readonly headers: Headers;
  bodyUsed = false;
  private web: ReadableStream<Uint8Array> | undefined;

  constructor(
    readonly url: string,
    readonly status: number,
    rawHeaders: Record<string, string | string[] | undefined>,
    private readonly stream: Dispatcher.ResponseData['body'],
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = responseHeaders(rawHeaders);
  }

  /** The body as a WHATWG stream (created on first use). */
  get body(): ReadableStream<Uint8Array> {
    this.web ??= Readable.toWeb(this.stream) as unknown as ReadableStream<Uint8Array>;
    return this.web;
  }

  /** The body as raw chunks, without a WHATWG stream in between. */
  chunks(): AsyncIterable<Uint8Array> {
    this.bodyUsed = true;
    return this.stream;
  }

  text(): Promise<string> {
    this.bodyUsed = true;
    return this.stream.text();
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.stream.arrayBuffer();
  }
}

let defaultDispatcher: Agent | undefined;

/** `fetch(url, init)` for the openai SDK, on `undici.request` with the dispatcher given in `init`. */
export async function undiciFetch(input: string | URL, init: FetchInit = {}): Promise<UndiciResponse> {
  const url = new URL(input);
  const response = await request(init.dispatcher ?? (defaultDispatcher ??= new Agent()), {
    origin: url.origin,
    path: url.pathname + url.search,
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: headerRecord(init.headers),
    body: (init.body ?? null) as string | null,
    signal: init.signal ?? undefined,
  });
  return new UndiciResponse(url.href, response.statusCode, response.headers, response.body);
}
