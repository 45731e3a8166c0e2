/**
 * The Bedrock SDK ships as a file of its own beside the Lambda handler (built with the stack's
 * `sideBundle` command), so the gateway bundle does not carry it: built here with that very command,
 * it loads on its own and serves the Converse commands the provider uses.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_BEDROCK_SDK } from '../../../lambdas/adapters/providers/bedrock/sdk';
import { BEDROCK_SDK_ENTRY, sideBundle } from '../../../lib/bundling/bundling';

const ROOT = join(__dirname, '..', '..', '..');

it('builds the Bedrock SDK side bundle with the Lambda aliases, and it serves Converse and ConverseStream', () => {
  const out = mkdtempSync(join(tmpdir(), 'side-bundle-'));
  const command = sideBundle(ROOT, out, BEDROCK_SDK_ENTRY, BUNDLED_BEDROCK_SDK);
  expect(command).toContain('--alias:@aws-sdk/credential-provider-node=');
  execSync(command, { cwd: ROOT, stdio: 'pipe' });
  const file = join(out, BUNDLED_BEDROCK_SDK);
  expect(statSync(file).size).toBeGreaterThan(0);
  const script = `const m = require(${JSON.stringify(file)}); process.stdout.write(JSON.stringify([typeof m.BedrockRuntimeClient, typeof m.ConverseCommand, typeof m.ConverseStreamCommand]))`;
  expect(JSON.parse(execSync(`"${process.execPath}" -e '${script}'`, { cwd: out }).toString())).toEqual([
    'function',
    'function',
    'function',
  ]);
});
