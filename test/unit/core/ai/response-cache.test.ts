/** What the response cache stores and how it replays: only whole answers, replayed as valid chunks. */
import { CompletionAssembler } from '../../../../lambdas/core/ai/completion-assembler';
import { cacheKey, entryKey, isCacheable, normaliseRequest, replayChunks } from '../../../../lambdas/core/ai/response-cache';
import { conformance } from '../../../helpers/openai-schemas';

const completion = (choice: Record<string, unknown>) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_764_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, logprobs: null, finish_reason: 'stop', ...choice }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
});

describe('isCacheable', () => {
  it('stores a complete answer and nothing else', () => {
    expect(isCacheable(completion({ message: { role: 'assistant', content: 'Hello' } }))).toBe(true);
    expect(isCacheable(completion({ message: { role: 'assistant', content: 'Hel' }, finish_reason: 'length' }))).toBe(true);
    // A content-filter block, a refusal, an empty answer, an unfinished one, logprobs and custom tools are not.
    expect(isCacheable(completion({ message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }))).toBe(false);
    expect(isCacheable(completion({ message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' } }))).toBe(false);
    expect(isCacheable(completion({ message: { role: 'assistant', content: '   ' } }))).toBe(false);
    expect(isCacheable(completion({ message: { role: 'assistant', content: 'Hi' }, finish_reason: null }))).toBe(false);
    expect(isCacheable(completion({ message: { role: 'assistant', content: 'Hi' }, logprobs: { content: [] } }))).toBe(false);
    expect(
      isCacheable(
        completion({
          message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'x', input: 'y' } }] },
          finish_reason: 'tool_calls',
        }),
      ),
    ).toBe(false);
    expect(isCacheable({ error: { message: 'boom' } })).toBe(false);
  });
});

describe('replayChunks', () => {
  it('replays tool calls and legacy function calls as chunks that follow OpenAI’s schema and assemble back to the answer', () => {
    for (const message of [
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"' + 'x'.repeat(150) + '"}' } }],
      },
      { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{"q":"paris"}' } },
      { role: 'assistant', content: 'A long answer '.repeat(20) },
    ]) {
      const original = completion({ message, finish_reason: message.content ? 'stop' : 'tool_calls' });
      const chunks = replayChunks(original, { includeUsage: true, usage: original.usage });
      const assembler = new CompletionAssembler();
      for (const chunk of chunks) {
        expect(conformance('CreateChatCompletionStreamResponse', JSON.parse(chunk))).toEqual([]);
        assembler.add(chunk);
      }
      const replayed = assembler.result() as { choices: Array<{ message: Record<string, unknown> }>; usage: unknown };
      expect(replayed.choices[0]!.message['tool_calls'] ?? null).toEqual((message as { tool_calls?: unknown }).tool_calls ?? null);
      expect(replayed.choices[0]!.message['function_call'] ?? null).toEqual((message as { function_call?: unknown }).function_call ?? null);
      expect(replayed.choices[0]!.message['content'] ?? null).toEqual(message.content);
      expect(replayed.usage).toEqual(original.usage);
    }
  });
});

describe('cacheKey', () => {
  it('ignores what does not change the answer, and keeps what does', () => {
    const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
    expect(cacheKey('general', base)).toBe(
      cacheKey('general', { ...base, temperature: 1, stream: true, user: 'u', max_tokens: undefined }),
    );
    expect(normaliseRequest({ ...base, max_completion_tokens: 5 })).toEqual(normaliseRequest({ ...base, max_tokens: 5 }));
    for (const changed of [{ seed: 1 }, { stop: ['x'] }, { model: 'gpt-4o' }, { response_format: { type: 'json_object' } }, { n: 2 }]) {
      expect(cacheKey('general', { ...base, ...changed })).not.toBe(cacheKey('general', base));
    }
    expect(cacheKey('general', base)).not.toBe(cacheKey('content_planning', base));
    expect(entryKey(cacheKey('general', base), 'auto:cost:::pro')).not.toBe(entryKey(cacheKey('general', base), 'auto:quality:::pro'));
    expect(entryKey(cacheKey('general', base), '')).toBe(cacheKey('general', base));
  });
});
