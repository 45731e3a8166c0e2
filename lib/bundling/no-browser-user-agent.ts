/**
 * Stands in for `bowser` in the Lambda bundles (see `bundling.ts`): the AWS SDK loads it only to parse
 * a browser's user agent, which a Lambda function never has.
 */
export const parse = (): Record<string, never> => ({});
export default { parse };
