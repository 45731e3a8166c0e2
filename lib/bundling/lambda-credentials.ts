/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (see `bundling.ts`). Lambda
 * always hands a function its role's credentials, in the environment (on-demand) or through a
 * container credentials endpoint; the full Node chain (SSO, STS web identity, INI files, IMDS and the
 * clients behind them) is never used there and costs bundle bytes and load time.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';

type Init = Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0];

type Provider = ReturnType<typeof fromEnv>;

/** Chosen on first use, like the chain it replaces: a client can be built before credentials exist. */
export const defaultProvider = (init: Init = {}): Provider => {
  let chosen: Provider | undefined;
  return async (options) => (chosen ??= process.env['AWS_ACCESS_KEY_ID'] ? fromEnv(init) : fromHttp(init))(options);
};
