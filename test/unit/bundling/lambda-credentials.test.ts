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

test('without them, asks the container credentials endpoint', async () => {
  clear();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ AccessKeyId: 'ASIAFROMENDPOINT', SecretAccessKey: 's', Token: 't', Expiration: '2030-01-01T00:00:00Z' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    process.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`;
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'ASIAFROMENDPOINT' });
  } finally {
    server.close();
  }
});

test('with neither, fails when credentials are asked for, not when the client is built', async () => {
  clear();
  const provider = defaultProvider();
  await expect(provider()).rejects.toThrow(/credential/i);
});
