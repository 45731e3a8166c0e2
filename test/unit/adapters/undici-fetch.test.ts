import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { undiciFetch, UndiciResponse } from '../../../lambdas/adapters/providers/openai-compatible/undici-fetch';

let server: Server;
let base: string;
const agent = new Agent();
const seen: Array<{ method?: string; headers: Record<string, unknown>; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url === '/slow') return; // never answers
      res.setHeader('set-cookie', ['a=1', 'b=2']);
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
  await agent.close();
});

describe('undiciFetch', () => {
  it('sends method, headers (from a Headers object) and body, and answers a Response-like object', async () => {
    const response = await undiciFetch(`${base}/ok`, {
      method: 'POST',
      headers: new Headers({ 'x-test': '1', 'content-type': 'application/json' }),
      body: '{"a":1}',
      dispatcher: agent,
    });
    expect(response).toBeInstanceOf(UndiciResponse);
    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('up-1');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ ok: true });
    expect(response.bodyUsed).toBe(true);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}', headers: expect.objectContaining({ 'x-test': '1' }) });
  });

  it('reports non-2xx answers as not ok, with their body', async () => {
    const response = await undiciFetch(`${base}/missing`, { dispatcher: agent });
    expect(response.ok).toBe(false);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('{"ok":false}');
  });

  it('exposes the body as a WHATWG stream when asked', async () => {
    const response = await undiciFetch(`${base}/ok`, { dispatcher: agent });
    const reader = response.body.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"ok":true');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = undiciFetch(`${base}/slow`, { signal: controller.signal, dispatcher: agent });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow();
  });
});
