/**
 * `TokenEstimator` on gpt-tokenizer with the o200k_base encoding (the GPT-4o, GPT-4.1 and o-series
 * tokenizer). The rank table (2.4 MB, about 0.2 s to load) loads on first use: never on a cold start,
 * only when an answer was cut before the provider reported its usage.
 */
import type { TokenEstimator } from '../../core/ports';

type Encode = (text: string) => number[];
let encode: Encode | undefined;

export const tokenizerEstimator: TokenEstimator = {
  count(text: string): number {
    if (text.length === 0) return 0;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    encode ??= (require('gpt-tokenizer/encoding/o200k_base') as { encode: Encode }).encode;
    return encode(text).length;
  },
};
