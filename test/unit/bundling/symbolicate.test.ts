/**
 * Stack traces from a minified bundle, run without --enable-source-maps as the functions are, map
 * back to the TypeScript source line that threw.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { SourceMapPayload } from 'node:module';
import { join } from 'node:path';
import { symbolicate } from '../../../lib/bundling/symbolicate';

/** `lines` as `lambdas/<name>.ts`, bundled minified with its map into `<outName>`, run: its stack trace and its map. */
async function thrown(name: string, lines: string[], outName: string): Promise<{ stack: string; map: SourceMapPayload }> {
  const dir = mkdtempSync(join(tmpdir(), 'ho-symbolicate-'));
  mkdirSync(join(dir, 'lambdas'));
  const source = join(dir, 'lambdas', `${name}.ts`);
  writeFileSync(source, lines.join('\n'));
  const outfile = join(dir, outName);
  await build({
    entryPoints: [source],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    outfile,
    logLevel: 'silent',
  });
  const stack = execFileSync(process.execPath, [outfile], { env: { ...process.env, NODE_OPTIONS: '' } }).toString();
  return { stack, map: JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as SourceMapPayload };
}

it('maps the frames of a minified bundle back to the source file and line', async () => {
  const { stack, map } = await thrown(
    'thrower',
    [
      'export function deepest(n: number): number {',
      '  if (n > 2) {',
      "    throw new Error('boom at depth ' + n);",
      '  }',
      '  return deepest(n + 1);',
      '}',
      'try { deepest(0); } catch (e) { process.stdout.write((e as Error).stack!); }',
    ],
    'index.js',
  );
  expect(stack).toMatch(/index\.js:1:\d+/); // minified: everything on line 1

  const mapped = symbolicate(stack, map);
  expect(mapped).toContain('boom at depth 3');
  expect(mapped).toMatch(/lambdas\/thrower\.ts:3:\d+/); // the throw
  expect(mapped).toMatch(/lambdas\/thrower\.ts:5:\d+/); // the recursive calls
  expect(mapped).not.toMatch(/index\.js:1:/);
});

it("maps a side file's frames with its own map, and leaves the frames of other files alone", async () => {
  const { stack, map } = await thrown(
    'spill',
    [
      "export const spill = (): never => { throw new Error('spill failed'); };",
      'try { spill(); } catch (e) { process.stdout.write((e as Error).stack!); }',
    ],
    'sqs-outbox.js',
  );
  expect(symbolicate(stack, map, 'sqs-outbox.js')).toMatch(/lambdas\/spill\.ts:1:\d+/);
  // The handler's map is for index.js: another file's frames (or a name that merely ends the same) stay as they are.
  expect(symbolicate(stack, map)).toBe(stack);
  const lookalike = stack.replaceAll('sqs-outbox.js', 'x-index.js');
  expect(symbolicate(lookalike, map)).toBe(lookalike);
});
