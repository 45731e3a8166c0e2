/** Every script answers `--help` with what it does and how to call it, from its opening comment. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPTS = join(__dirname, '..', '..', 'scripts');
const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith('.ts') && f !== 'help.ts');

it.each(scripts)('%s --help prints its usage and exits 0', (script) => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(SCRIPTS, script), '--help'], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  expect(out).toMatch(/npm run [a-z-]+/);
  expect(out).not.toMatch(/^\s*\*/m);
});
