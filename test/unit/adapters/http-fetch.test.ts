import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { ConnectionPool, HttpResponse, httpFetch } from '../../../lambdas/adapters/providers/openai-compatible/http-fetch';

let server: Server;
let base: string;
const pool = new ConnectionPool(2_000);
const seen: Array<{ method?: string; headers: Record<string, unknown>; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url === '/slow') return; // never answers
      if (req.url === '/partial') return void res.writeHead(200).write('{"ok":'); // starts the body, never ends it
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('X-Dup', ['one', 'two']);
      res.setHeader('x-ratelimit-remaining-requests', '59');
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-request-id': 'up-1' });
      res.end(JSON.stringify({ ok: req.url !== '/missing' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  pool.destroy();
});

describe('httpFetch', () => {
  it('sends method, headers (from a Headers object) and body, and answers a Response-like object', async () => {
    const response = await httpFetch(`${base}/ok`, {
      method: 'POST',
      headers: new Headers({ 'x-test': '1', 'content-type': 'application/json' }),
      body: '{"a":1}',
      pool,
    });
    expect(response).toBeInstanceOf(HttpResponse);
    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('up-1');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ ok: true });
    expect(response.bodyUsed).toBe(true);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}', headers: expect.objectContaining({ 'x-test': '1' }) });
  });

  it('answers read-only headers that read as a WHATWG Headers of the same answer does', async () => {
    const response = await httpFetch(`${base}/ok`, { pool });
    await response.text();
    const { headers } = response;
    // The same answer's headers as a WHATWG Headers, built from the raw header lines.
    const raw = await new Promise<string[]>((resolve, reject) =>
      get(`${base}/ok`, (res) => {
        res.resume();
        resolve(res.rawHeaders);
      }).on('error', reject),
    );
    const whatwg = new Headers();
    for (let i = 0; i < raw.length; i += 2) whatwg.append(raw[i]!, raw[i + 1]!);
    whatwg.set('date', headers.get('date')!);
    for (const name of [
      'x-request-id',
      'X-Request-ID',
      'set-cookie',
      'x-dup',
      'X-RateLimit-Remaining-Requests',
      'content-length',
      'absent',
    ]) {
      expect([name, headers.get(name), headers.has(name)]).toEqual([name, whatwg.get(name), whatwg.has(name)]);
    }
    expect(headers.get('x-dup')).toBe('one, two');
    expect(headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const sorted = (entries: Iterable<[string, string]>) => [...entries].sort((a, b) => (a.join() < b.join() ? -1 : 1));
    expect(sorted(headers)).toEqual(sorted(whatwg));
    expect(sorted(headers.entries())).toEqual(sorted(whatwg.entries()));
    expect([...headers.keys()].sort()).toEqual([...whatwg.keys()].sort());
    expect([...headers.values()].sort()).toEqual([...whatwg.values()].sort());
    const seenByForEach: Array<[string, string]> = [];
    headers.forEach((value, name) => seenByForEach.push([name, value]));
    expect(sorted(seenByForEach)).toEqual(sorted(whatwg));
    // Names of Object.prototype are not headers; and nothing enumerable for a logger to print.
    expect([headers.get('constructor'), headers.has('toString')]).toEqual([null, false]);
    expect(Object.entries(headers)).toEqual([]);
    expect(() => headers.set('x-new', '1')).toThrow(TypeError);
    expect(() => headers.append('x-new', '1')).toThrow(TypeError);
    expect(() => headers.delete('x-request-id')).toThrow(TypeError);
  });

  it('reports non-2xx answers as not ok, with their body', async () => {
    const response = await httpFetch(`${base}/missing`, { pool });
    expect(response.ok).toBe(false);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('{"ok":false}');
  });

  it('exposes the body as a WHATWG stream when asked', async () => {
    const response = await httpFetch(`${base}/ok`, { pool });
    const reader = response.body.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"ok":true');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = httpFetch(`${base}/slow`, { signal: controller.signal, pool });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow();
  });

  it('reuses a kept-alive connection for the next call', async () => {
    const sockets = new Set<unknown>();
    server.on('connection', (socket) => sockets.add(socket));
    const reusePool = new ConnectionPool(2_000);
    try {
      for (let i = 0; i < 3; i++) await (await httpFetch(`${base}/ok`, { pool: reusePool })).text();
      expect(sockets.size).toBe(1);
    } finally {
      reusePool.destroy();
    }
  });

  it('bounds the TLS handshake by the connect timeout', async () => {
    // A TCP server that accepts and never speaks TLS: the TCP connect succeeds, the handshake never ends.
    const silent: TcpServer = createTcpServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const tlsPool = new ConnectionPool(150);
    const started = Date.now();
    try {
      await expect(httpFetch(`https://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { pool: tlsPool })).rejects.toMatchObject({
        name: 'ConnectTimeoutError',
        code: 'ETIMEDOUT',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      tlsPool.destroy();
      // close() waits for the connection to end: it does only if the client gave it up.
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses bodies it cannot send as bytes instead of sending something else', async () => {
    await expect(httpFetch(`${base}/ok`, { method: 'POST', body: new FormData(), pool })).rejects.toThrow(TypeError);
  });

  it('ends the body stream with an error when the signal aborts mid-body', async () => {
    const controller = new AbortController();
    const response = await httpFetch(`${base}/partial`, { signal: controller.signal, pool });
    controller.abort();
    await expect(response.text()).rejects.toThrow();
  });

  it('sends a request again on a new socket when a kept-alive one turns out closed', async () => {
    // Answers the first request of each connection, and resets the connection on the second (a server
    // that closed the idle socket just as the client reused it).
    let connections = 0;
    const flaky: TcpServer = createTcpServer((socket) => {
      connections += 1;
      let requests = 0;
      socket.on('data', (chunk) => {
        if (!chunk.toString().includes('\r\n\r\n')) return;
        requests += 1;
        if (requests > 1) return void socket.resetAndDestroy();
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: keep-alive\r\n\r\n{"ok":true}',
        );
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const flakyPool = new ConnectionPool(2_000);
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/`;
    try {
      expect(await (await httpFetch(url, { pool: flakyPool })).json()).toEqual({ ok: true });
      expect(await (await httpFetch(url, { method: 'POST', body: '{}', pool: flakyPool })).json()).toEqual({ ok: true });
      expect(connections).toBe(2);
    } finally {
      flakyPool.destroy();
      flaky.close();
    }
  });
});
