/**
 * Maps the frames of a stack trace from a minified Lambda bundle back to the TypeScript sources, with
 * the bundle's `.map` file (the functions ship without `--enable-source-maps`: it adds about a quarter
 * to the module load of every cold start, see "Cold start" in the README). Frames look like
 * `at name (/var/task/index.js:1:23456)` or `at /var/task/index.js:1:23456`.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';

const FRAME = /(\S*index\.js):(\d+):(\d+)/g;

export function symbolicate(stack: string, payload: SourceMapPayload): string {
  const map = new SourceMap(payload);
  return stack.replace(FRAME, (frame, _file: string, line: string, column: string) => {
    // findEntry takes and returns 0-based positions; stack traces are 1-based.
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
      name?: string;
    };
    if (entry.originalSource === undefined || entry.originalLine === undefined) return frame;
    const source = entry.originalSource.replace(/^.*?((?:lambdas|node_modules)\/)/, '$1');
    return `${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}${entry.name ? ` [${entry.name}]` : ''}`;
  });
}
