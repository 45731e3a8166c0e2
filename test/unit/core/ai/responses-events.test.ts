import { FINAL_RESPONSE_EVENTS, responsesDeltaText, responsesEventType } from '../../../../lambdas/core/ai/responses-events';
import { estimateResponsesPromptTokens, estimatedUsage } from '../../../../lambdas/core/ai/token-estimate';

/** One token per word: enough to check what is counted. */
const words = { count: (text: string) => text.split(/\s+/).filter(Boolean).length };

describe('Responses API events', () => {
  it('reads the top-level type, never a nested one', () => {
    expect(responsesEventType('{"type":"response.output_text.delta","sequence_number":3,"delta":"Hi"}')).toBe('response.output_text.delta');
    expect(responsesEventType('{"sequence_number":9,"response":{"type":"message"},"type":"response.completed"}')).toBe(
      'response.completed',
    );
    expect(responsesEventType('not json')).toBeUndefined();
    expect([...FINAL_RESPONSE_EVENTS].sort()).toEqual(['response.completed', 'response.failed', 'response.incomplete']);
  });

  it('counts the text of delta events only', () => {
    expect(responsesDeltaText('{"type":"response.output_text.delta","delta":"Hello there"}')).toBe('Hello there');
    expect(responsesDeltaText('{"type":"response.function_call_arguments.delta","delta":"{\\"a\\":1}"}')).toBe('{"a":1}');
    expect(responsesDeltaText('{"type":"response.output_text.done","text":"Hello there"}')).toBe('');
  });

  it('estimates a cut stream from instructions, input items and tools, and the delivered deltas', () => {
    const body = {
      instructions: 'be brief',
      input: [
        { role: 'user', content: 'one two three' },
        { role: 'user', content: [{ type: 'input_text', text: 'four five' }] },
        { type: 'function_call_output', call_id: 'c1', output: 'six' },
      ],
    };
    // 3 + (4 + 2) + (4 + 3) + (4 + 2) + (4 + 1)
    expect(estimateResponsesPromptTokens(body, words)).toBe(27);
    expect(estimateResponsesPromptTokens({ input: 'just a string' }, words)).toBe(10);
    expect(estimatedUsage({ input: 'just a string' }, 'two words', words, 'responses')).toEqual({
      promptTokens: 10,
      completionTokens: 2,
      totalTokens: 12,
    });
  });
});
