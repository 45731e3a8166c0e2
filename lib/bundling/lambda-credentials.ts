/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (see `bundling.ts`). Lambda
 * always hands a function its role's credentials, in the environment (on-demand) or through a
 * container credentials endpoint; the full Node chain (SSO, STS web identity, INI files, IMDS and the
 * clients behind them) is never used there and costs bundle bytes and load time.
 *
 * Like the chain it replaces, it caches the credentials until 5 minutes before they expire, and
 * concurrent callers share one fetch (the SDK treats this provider as already memoized).
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';

type Init = Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0];
type Provider = ReturnType<typeof fromEnv>;
type Credentials = Awaited<ReturnType<Provider>>;

const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

export const defaultProvider = (init: Init = {}): Provider => {
  let credentials: Credentials | undefined;
  let pending: Promise<Credentials> | undefined;
  const usable = (c: Credentials) => c.expiration === undefined || c.expiration.getTime() - Date.now() > REFRESH_BEFORE_EXPIRY_MS;
  return async (options) => {
    if (credentials && usable(credentials) && !options?.forceRefresh) return credentials;
    // A provider per fetch: the container provider closes its connections when it is done.
    pending ??= (process.env['AWS_ACCESS_KEY_ID'] ? fromEnv(init) : fromHttp(init))(options)
      .then((fetched) => (credentials = fetched))
      .finally(() => (pending = undefined));
    return pending;
  };
};
