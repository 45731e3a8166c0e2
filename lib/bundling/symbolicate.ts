/**
 * Maps the frames of a stack trace from a minified Lambda bundle back to the TypeScript sources, with
 * the bundle's `.map` file (the functions ship without `--enable-source-maps`: it adds about a quarter
 * to the module load of every cold start, see "Cold start" in the README). Frames look like
 * `at name (/var/task/index.js:1:23456)` or `at /var/task/index.js:1:23456`; only the frames of the
 * file the map is for (`file`: the handler's `index.js`, or a side file such as `sqs-outbox.js`) are
 * rewritten, the others are left as they are.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';

export function symbolicate(stack: string, payload: SourceMapPayload, file = 'index.js'): string {
  const map = new SourceMap(payload);
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The file's frames, not those of a file whose name merely ends the same (`x-index.js`).
  const frames = new RegExp(`(?<![\\w.-])((?:\\S*/)?${escaped}):(\\d+):(\\d+)`, 'g');
  return stack.replace(frames, (frame, _file: string, line: string, column: string) => {
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
