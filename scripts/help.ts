/**
 * `--help` (or `-h`) for every script: prints the script's opening comment, which says what it does and
 * how to call it, and exits. Each script calls it first, before it reads its options.
 */
import { readFileSync } from 'node:fs';

export function answerHelp(file: string): void {
  if (!process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) return;
  const comment = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
  const text = comment
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  process.stdout.write(`${text}\n`);
  process.exit(0);
}
