/**
 * `TokenEstimator` on gpt-tokenizer with the o200k_base encoding (the GPT-4o, GPT-4.1 and o-series
 * tokenizer). Its rank table (2.4 MB, about 0.2 s to load) is kept out of the Lambda bundle, so cold
 * starts never parse it: the CDK writes it next to the handler as `tokenizer.js`, and it is loaded
 * on first use, only when an answer was cut before the provider reported its usage.
 */
import type { TokenEstimator } from '../../core/ai/ports';
import { requireBeside } from '../aws/beside-handler';

type Encode = (text: string) => number[];
let encode: Encode | undefined;

/** The file the CDK bundling writes next to the Lambda handler. */
export const BUNDLED_TOKENIZER = 'tokenizer.js';

function load(): Encode {
  return requireBeside<{ encode: Encode }>(BUNDLED_TOKENIZER, 'gpt-tokenizer/encoding/o200k_base').encode;
}

export const tokenizerEstimator: TokenEstimator = {
  count(text: string): number {
    if (text.length === 0) return 0;
    encode ??= load();
    return encode(text).length;
  },
};
