// The Vercel AI SDK's default OpenAI provider against the gateway, in a process of its own (the SDK
// is published as ES modules, which Jest's CommonJS runtime cannot load). Prints one JSON line:
// what generateText, streamText and embed returned. Usage: node ai-sdk-client.mjs <baseURL> <key>
import { createOpenAI } from '@ai-sdk/openai';
import { embed, generateText, streamText } from 'ai';

const [baseURL, apiKey] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey });
const generated = await generateText({ model: openai('gpt-4o-mini'), prompt: 'Hello from the AI SDK' });
const streamed = streamText({ model: openai('gpt-4o-mini'), prompt: 'Streaming from the AI SDK' });
let streamedText = '';
for await (const delta of streamed.textStream) streamedText += delta;
const embedded = await embed({ model: openai.embedding('text-embedding-3-small'), value: 'vector me' });
process.stdout.write(
  `${JSON.stringify({
    generated: { text: generated.text, inputTokens: generated.usage.inputTokens },
    streamed: { text: streamedText, outputTokens: (await streamed.usage).outputTokens },
    embedded: { dimensions: embedded.embedding.length },
  })}\n`,
);
