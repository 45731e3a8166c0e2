/** Log lines keep their context: no call passes a key Powertools Logger reserves (and would drop). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESERVED_LOG_KEYS } from '../../lambdas/adapters/telemetry/powertools-telemetry';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** The top-level keys of the object literal that starts at `open` (a `{`). */
function topLevelKeys(text: string, open: number): string[] {
  const keys: string[] = [];
  let depth = 0;
  let token = '';
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if ('{[('.includes(ch)) depth++;
    else if ('}])'.includes(ch)) {
      depth--;
      if (depth === 0) break;
    }
    if (depth !== 1) continue;
    if (ch === ',' || ch === '{') token = '';
    else if (ch === ':' && token.trim()) {
      keys.push(token.trim().replace(/^['"]|['"]$/g, ''));
      token = '\u0000';
    } else if (token !== '\u0000') token += ch;
  }
  return keys;
}

/** Every `telemetry.error|info(...)` / `logger.*(...)` call's context keys, with where it is. */
function logCalls(): Array<{ where: string; keys: string[] }> {
  const calls: Array<{ where: string; keys: string[] }> = [];
  for (const file of sources('lambdas')) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/\b(?:telemetry|logger)\.(?:error|info|warn|debug)\(\s*(?:'[^']*'|`[^`]*`|"[^"]*")\s*,\s*\{/g)) {
      calls.push({
        where: `${file}:${text.slice(0, match.index).split('\n').length}`,
        keys: topLevelKeys(text, match.index! + match[0].length - 1),
      });
    }
  }
  return calls;
}

describe('log lines', () => {
  it('finds the log calls it checks (the scan itself works)', () => {
    const calls = logCalls();
    expect(calls.length).toBeGreaterThan(15);
    expect(calls.some((c) => c.keys.includes('requestId'))).toBe(true);
    expect(topLevelKeys("{ message: 'x', nested: { level: 1 }, error: f(a, b) }", 0)).toEqual(['message', 'nested', 'error']);
  });

  it('never passes a key Powertools reserves (message, level, service, timestamp, sampling_rate)', () => {
    const offending = logCalls().filter((c) => c.keys.some((k) => RESERVED_LOG_KEYS.includes(k)));
    expect(offending).toEqual([]);
  });
});
