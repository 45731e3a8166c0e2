/**
 * The two parts of undici the gateway uses, `Agent` and `request`, loaded without the package
 * index: the index also loads fetch, WebSocket, caches and mocks (about 500 KiB bundled, ~100 ms of
 * every Lambda cold start). Both are undici's public API; only the module paths are internal, and
 * the version is pinned in package-lock.json.
 */
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

const AgentImpl = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
const requestImpl = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

export const Agent = AgentImpl;
export type Agent = UndiciAgent;

/** `dispatcher.request(options)`, as undici's own `Dispatcher.prototype.request`. */
export function request(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return requestImpl.call(dispatcher, options);
}
