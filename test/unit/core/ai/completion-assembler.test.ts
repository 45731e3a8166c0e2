/** The non-streamed answer built from stream chunks, checked against OpenAI's published response schema. */
import { CompletionAssembler } from '../../../../lambdas/core/ai/completion-assembler';
import { conformance } from '../../../helpers/openai-schemas';

const base = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1_764_000_000,
  model: 'gpt-4o-2024-08-06',
  system_fingerprint: 'fp_1',
  service_tier: 'default',
};
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ ...base, choices, ...extra });

function assemble(chunks: string[]) {
  const assembler = new CompletionAssembler();
  for (const c of chunks) assembler.add(c);
  return { result: assembler.result(), complete: assembler.complete };
}

describe('CompletionAssembler', () => {
  it('joins content, keeps the head fields and the usage, and drops chunk-only fields', () => {
    const { result, complete } = assemble([
      chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], {
        obfuscation: 'xx',
      }),
      chunk([{ index: 0, delta: { content: 'Hello ' }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'Sam!' }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
      chunk([], { usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } } }),
    ]);
    expect(complete).toBe(true);
    expect(result).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_764_000_000,
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello Sam!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } },
      service_tier: 'default',
      system_fingerprint: 'fp_1',
    });
    expect(conformance('CreateChatCompletionResponse', result)).toEqual([]);
  });

  it('assembles tool calls whose arguments arrive across chunks, in order, with content null', () => {
    const { result } = assemble([
      chunk([
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
          },
          finish_reason: null,
        },
      ]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null }]),
      chunk([
        {
          index: 0,
          delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
          finish_reason: null,
        },
      ]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
    ]);
    const message = (result['choices'] as Array<{ message: Record<string, unknown> }>)[0]!.message;
    expect(message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
    expect(conformance('CreateChatCompletionResponse', result)).toEqual([]);
  });

  it('keeps fields it does not know at their level: the chunk’s, the delta’s (text and lists joined), a tool call’s', () => {
    const { result } = assemble([
      chunk([
        {
          index: 0,
          delta: { role: 'assistant', content: '', reasoning_content: 'Think ', reasoning_details: [{ n: 1 }] },
          finish_reason: null,
        },
      ]),
      chunk([{ index: 0, delta: { reasoning_content: 'first.', reasoning_details: [{ n: 2 }] }, finish_reason: null }]),
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'call_a',
                type: 'function',
                function: { name: 'lookup', arguments: '{}' },
                extra_content: { google: { thought_signature: 'sig' } },
              },
            ],
          },
          finish_reason: null,
        },
      ]),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
      chunk([], { moderation: { model: 'omni-moderation-latest', results: [] } }),
    ]);
    expect(result['moderation']).toEqual({ model: 'omni-moderation-latest', results: [] });
    expect((result['choices'] as Array<{ message: unknown }>)[0]!.message).toEqual({
      role: 'assistant',
      // A call's answer has no text, even from a stream that began with "".
      content: null,
      refusal: null,
      reasoning_content: 'Think first.',
      reasoning_details: [{ n: 1 }, { n: 2 }],
      tool_calls: [
        {
          id: 'call_a',
          type: 'function',
          function: { name: 'lookup', arguments: '{}' },
          extra_content: { google: { thought_signature: 'sig' } },
        },
      ],
    });
  });

  it('keeps every choice of n = 2, each with its own finish reason and log probabilities', () => {
    const lp = (token: string) => ({ token, logprob: -0.1, bytes: [104], top_logprobs: [] });
    const { result, complete } = assemble([
      chunk([
        { index: 0, delta: { role: 'assistant', content: 'A' }, logprobs: { content: [lp('A')], refusal: null }, finish_reason: null },
      ]),
      chunk([
        { index: 1, delta: { role: 'assistant', content: 'B' }, logprobs: { content: [lp('B')], refusal: null }, finish_reason: null },
      ]),
      chunk([{ index: 1, delta: { content: 'b' }, logprobs: { content: [lp('b')], refusal: null }, finish_reason: 'length' }]),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
    ]);
    expect(complete).toBe(true);
    const choices = result['choices'] as Array<{
      index: number;
      message: { content: string };
      finish_reason: string;
      logprobs: { content: unknown[] };
    }>;
    expect(choices.map((c) => [c.index, c.message.content, c.finish_reason, c.logprobs.content.length])).toEqual([
      [0, 'A', 'stop', 1],
      [1, 'Bb', 'length', 2],
    ]);
    expect(conformance('CreateChatCompletionResponse', result)).toEqual([]);
  });

  it('keeps a refusal, and Azure content filter results', () => {
    const { result } = assemble([
      chunk([{ index: 0, delta: { role: 'assistant', refusal: "I can't " }, finish_reason: null }]),
      chunk([
        {
          index: 0,
          delta: { refusal: 'help with that.' },
          finish_reason: 'stop',
          content_filter_results: { hate: { filtered: false, severity: 'safe' } },
        },
      ]),
    ]);
    expect((result['choices'] as Array<Record<string, unknown>>)[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: null, refusal: "I can't help with that." },
      logprobs: null,
      finish_reason: 'stop',
      content_filter_results: { hate: { filtered: false, severity: 'safe' } },
    });
    expect(conformance('CreateChatCompletionResponse', result)).toEqual([]);
  });

  it('says when an answer is incomplete (a choice without its finish reason)', () => {
    expect(assemble([chunk([{ index: 0, delta: { content: 'half' }, finish_reason: null }])]).complete).toBe(false);
    expect(() => new CompletionAssembler().add('not json')).toThrow(SyntaxError);
  });
});
