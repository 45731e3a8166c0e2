/**
 * The official SDK's helpers work against `npm start` without keys: the simulated upstream answers
 * tool calls whose arguments satisfy the tool's schema (streamed as tool-call deltas too), JSON that
 * satisfies the requested schema, and `n` choices, as the real provider would.
 */
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import * as z from 'zod';
import { conformance } from '../helpers/openai-schemas';
import { readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

const Plan = z.object({
  title: z.string(),
  posts: z
    .array(z.object({ day: z.number().int().min(1).max(7), platform: z.enum(['onlyfans', 'instagram']), caption: z.string() }))
    .min(2),
  hashtags: z.array(z.string()).nullable(),
  publishAt: z.string().nullable(),
});

const Weather = z.object({ city: z.string(), unit: z.enum(['c', 'f']) });

describe('client helpers against the simulated upstream', () => {
  it('parse() with a zod response format gets JSON that satisfies the schema', async () => {
    const completion = await gw.client.chat.completions.parse({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Plan a week of posts' }],
      response_format: zodResponseFormat(Plan, 'plan'),
    });
    const parsed = completion.choices[0]?.message.parsed;
    expect(Plan.safeParse(parsed).success).toBe(true);
  });

  it('parse() with zod tools gets a tool call whose arguments satisfy the tool, with finish_reason tool_calls', async () => {
    const completion = await gw.client.chat.completions.parse({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [zodFunction({ name: 'get_weather', parameters: Weather })],
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && Weather.safeParse(call.function.parsed_arguments).success).toBe(true);
  });

  it('streams a tool call as tool-call deltas the SDK assembles, every chunk valid', async () => {
    const stream = gw.client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [zodFunction({ name: 'get_weather', parameters: Weather })],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && Weather.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
    const raw = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: z.toJSONSchema(Weather) } }],
      }),
    });
    const { data } = await readSseData(raw);
    for (const chunk of data.slice(0, -1)) expect(conformance('CreateChatCompletionStreamResponse', JSON.parse(chunk))).toEqual([]);
    expect(data.some((c) => c.includes('"tool_calls"'))).toBe(true);
  });

  it('answers in words once the tool results are in, and gives n choices', async () => {
    const completion = await gw.client.chat.completions.create({
      model: 'gpt-4o-mini',
      n: 2,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: z.toJSONSchema(Weather) as Record<string, unknown> } }],
    });
    expect(completion.choices).toHaveLength(2);
    expect(completion.choices.map((c) => c.finish_reason)).toEqual(['stop', 'stop']);
    expect(completion.choices[0]?.message.content).toContain('[simulated');
  });
});
