/**
 * The credential provider the Lambda bundles use instead of the SDK's Node chain: the environment
 * (on-demand Lambda) or the container credentials endpoint, chosen on first use.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultProvider } from '../../../lib/bundling/lambda-credentials';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'];
const clear = () => keys.forEach((k) => delete process.env[k]);

test('reads the role credentials Lambda puts in the environment', async () => {
  clear();
  const provider = defaultProvider(); // built before the credentials exist, as a client at cold start
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' });
  await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
});

/** A container credentials endpoint on loopback, counting its hits; `expiresInMs` sets the expiry it hands out. */
async function endpoint(expiresInMs: number): Promise<{ hits: () => number; close: () => void }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    const expiration = new Date(Date.now() + expiresInMs).toISOString();
    res.end(JSON.stringify({ AccessKeyId: `ASIA${hits}`, SecretAccessKey: 's', Token: 't', Expiration: expiration }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`;
  return { hits: () => hits, close: () => server.close() };
}

test('without them, asks the container credentials endpoint once for many concurrent callers, and keeps the answer', async () => {
  clear();
  const container = await endpoint(3_600_000);
  try {
    const provider = defaultProvider();
    const all = await Promise.all(Array.from({ length: 30 }, () => provider()));
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIA1']));
    await provider();
    expect(container.hits()).toBe(1);
  } finally {
    container.close();
  }
});

test('fetches again when the credentials are within 5 minutes of expiring', async () => {
  clear();
  const container = await endpoint(60_000);
  try {
    const provider = defaultProvider();
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect((await provider()).accessKeyId).toBe('ASIA2');
    expect(container.hits()).toBe(2);
  } finally {
    container.close();
  }
});

test('with neither, fails when credentials are asked for, not when the client is built', async () => {
  clear();
  const provider = defaultProvider();
  await expect(provider()).rejects.toThrow(/credential/i);
});
