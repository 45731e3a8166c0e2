/**
 * `npm run symbolicate -- --map <index.js.map> < stack.txt`: rewrites the frames of a stack trace logged
 * by a deployed function (minified bundle) to source files and lines. The map of each function is in
 * its CDK asset (`cdk.out/asset.<hash>/index.js.map`, the same hash as the function's code) or in the
 * zip that `aws lambda get-function` links to. The files beside the handler (`sqs-outbox.js`,
 * `sns-alerts.js`, `bedrock-runtime.js`, `tokenizer.js`) have maps of their own there: the frames of
 * the file the map is named for are rewritten (`--map sqs-outbox.js.map` for `sqs-outbox.js`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { symbolicate } from '../lib/bundling/symbolicate';
import { answerHelp } from './help';

answerHelp(__filename);

let values: { map?: string | undefined };
try {
  ({ values } = parseArgs({ options: { map: { type: 'string' } } }));
} catch (error) {
  process.stderr.write(`symbolicate: ${(error as Error).message} (--help for usage)\n`);
  process.exit(2);
}
if (!values.map) {
  process.stderr.write('symbolicate: --map <path to index.js.map> is required\n');
  process.exit(2);
}
process.stdout.write(
  symbolicate(readFileSync(0, 'utf8'), JSON.parse(readFileSync(values.map, 'utf8')), basename(values.map).replace(/\.map$/, '')),
);
