/**
 * Code the Lambda bundles ship as files of their own beside the handler, loaded at its first use:
 * deployments that never need it do not load, or even parse, its bytes at cold start. The stack's
 * bundling writes those files (`sideBundle` in lib/bundling); outside a bundle the module is required
 * from where it is (a package, or our own source).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The SNS alert publisher and its client (`lambdas/adapters/aws/sns-client.ts`), about 40 KiB. */
export const BUNDLED_SNS = 'sns-alerts.js';
/** The SQS spill queue and its client (`lambdas/adapters/aws/sqs-client.ts`), about 32 KiB. */
export const BUNDLED_SQS = 'sqs-outbox.js';

// A require whose argument is not a literal: bundlers leave it to run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireAtRunTime = (id: string): unknown => require(id);

/**
 * The file `file` beside the bundled handler, else `elsewhere` (a package name, which the Lambda
 * runtime may have, as it has the AWS SDK, or an absolute path outside a bundle). In a bundle where
 * neither is there, the error names the missing file and its folder: the bundling did not write it.
 */
export function requireBeside<T>(file: string, elsewhere: string): T {
  const bundled = join(__dirname, file);
  if (existsSync(bundled)) return requireAtRunTime(bundled) as T;
  try {
    return requireAtRunTime(elsewhere) as T;
  } catch (error) {
    if (process.env['HO_LAMBDA_BUNDLE'] === 'true' && (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
      throw new Error(`${file} is missing beside the handler (${__dirname}): the bundling did not write it`, { cause: error });
    throw error;
  }
}
