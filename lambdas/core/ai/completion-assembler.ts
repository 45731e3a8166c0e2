/**
 * Builds the non-streamed `chat.completion` a provider would have returned from the chunks of its
 * stream. The gateway streams from providers even for non-streamed requests, so that a provider that
 * accepts the connection and then hangs is detected by its first event, not by its last byte.
 *
 * Kept: id, created, model, system_fingerprint, service_tier, usage; per choice the role, content,
 * refusal, tool calls (by index, arguments joined across chunks), the deprecated function_call,
 * audio (data and transcript joined), annotations, logprobs (content and refusal tokens joined),
 * finish_reason. Fields this code does not know, a provider's own or newer than it, are kept too, at
 * their level: of the chunk (`moderation`), of a choice (Azure's `content_filter_results`), of the
 * delta (`reasoning_content`: text and lists joined), of a tool call (Gemini's `extra_content`), each as last
 * sent. Chunk-only fields (`object`, `obfuscation`) are dropped.
 * The openai SDK's own accumulator (`ChatCompletionStream`) keeps the same fields but lives in the SDK
 * and throws on partial answers; this one is pure and reports what is missing.
 */

type Json = Record<string, unknown>;

interface ToolCallState {
  id?: string;
  type?: string;
  name: string;
  arguments: string;
  custom?: { name: string; input: string };
  /** Fields of a provider's own (Gemini's `extra_content`), as last sent. */
  extras: Json;
}

interface ChoiceState {
  role: string | undefined;
  content: string | undefined;
  refusal: string | undefined;
  toolCalls: Map<number, ToolCallState>;
  functionCall: { name: string; arguments: string } | undefined;
  audio: Json | undefined;
  annotations: unknown[] | undefined;
  logprobs: { content: unknown[] | undefined; refusal: unknown[] | undefined } | undefined;
  finishReason: string | null;
  /** The choice's fields of a provider's own (Azure's `content_filter_results`), as last sent. */
  extras: Json;
  /** The delta's fields of a provider's own: text joined (`reasoning_content`), anything else as last sent. */
  messageExtras: Json;
}

/** What the assembler reads itself, at each level; any other field is a provider's own and is kept. */
const HEAD_FIELDS = new Set(['id', 'object', 'created', 'model', 'system_fingerprint', 'service_tier', 'usage', 'choices', 'obfuscation']);
const CHOICE_FIELDS = new Set(['index', 'delta', 'logprobs', 'finish_reason']);
const DELTA_FIELDS = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call', 'audio', 'annotations']);
const CALL_FIELDS = new Set(['index', 'id', 'type', 'function', 'custom']);
/** The head's values, as last sent non-empty. */
const HEAD_VALUES = ['id', 'created', 'model', 'system_fingerprint', 'service_tier'] as const;

/** `list` (this assembler's own, made here) with `more` added in place: one token a chunk must not copy the list each time. */
function grown(list: unknown[] | undefined, more: unknown[]): unknown[] {
  const out = list ?? [];
  for (const item of more) out.push(item);
  return out;
}

/**
 * Copies into `into` the fields of `from` not in `known` (null ones skipped); with `join`, strings and
 * arrays add to what is there (a delta's text and lists arrive in pieces).
 */
function keepOthers(from: Json, known: ReadonlySet<string>, into: Json, join = false): void {
  // Runs on every chunk of every non-streamed answer: no entry arrays, and lists grown in place.
  for (const key in from) {
    const value = from[key];
    if (known.has(key) || value === null || value === undefined) continue;
    const held = into[key];
    if (join && typeof value === 'string') into[key] = (asString(held) ?? '') + value;
    else if (join && Array.isArray(value)) into[key] = grown(Array.isArray(held) ? held : undefined, value as unknown[]);
    else into[key] = value;
  }
}

const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export class CompletionAssembler {
  private readonly head: Json = {};
  /** The chunks' fields of a provider's own, or newer than this code (`moderation`), as last sent. */
  private readonly headExtras: Json = {};
  private readonly choices = new Map<number, ChoiceState>();
  private usage: unknown;

  /** Adds one chunk (the `data` of one event). Throws a SyntaxError for a chunk that is not JSON. */
  add(data: string): void {
    const chunk = JSON.parse(data) as Json;
    for (const key of HEAD_VALUES) {
      if (chunk[key] !== undefined && chunk[key] !== null && chunk[key] !== '') this.head[key] = chunk[key];
    }
    if (chunk['usage'] !== undefined && chunk['usage'] !== null) this.usage = chunk['usage'];
    keepOthers(chunk, HEAD_FIELDS, this.headExtras);
    for (const raw of Array.isArray(chunk['choices']) ? (chunk['choices'] as Json[]) : []) this.addChoice(raw);
  }

  private choice(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      state = {
        role: undefined,
        content: undefined,
        refusal: undefined,
        toolCalls: new Map(),
        functionCall: undefined,
        audio: undefined,
        annotations: undefined,
        logprobs: undefined,
        finishReason: null,
        extras: {},
        messageExtras: {},
      };
      this.choices.set(index, state);
    }
    return state;
  }

  private addChoice(raw: Json): void {
    const state = this.choice(typeof raw['index'] === 'number' ? raw['index'] : 0);
    const delta = (raw['delta'] ?? {}) as Json;
    state.role = asString(delta['role']) ?? state.role;
    const content = asString(delta['content']);
    if (content !== undefined) state.content = (state.content ?? '') + content;
    const refusal = asString(delta['refusal']);
    if (refusal !== undefined) state.refusal = (state.refusal ?? '') + refusal;
    for (const call of Array.isArray(delta['tool_calls']) ? (delta['tool_calls'] as Json[]) : []) this.addToolCall(state, call);
    const fn = delta['function_call'] as Json | undefined;
    if (fn && typeof fn === 'object') {
      state.functionCall ??= { name: '', arguments: '' };
      state.functionCall.name += asString(fn['name']) ?? '';
      state.functionCall.arguments += asString(fn['arguments']) ?? '';
    }
    const audio = delta['audio'] as Json | undefined;
    if (audio && typeof audio === 'object') {
      const previous = state.audio ?? {};
      state.audio = {
        ...previous,
        ...audio,
        ...(typeof audio['data'] === 'string' ? { data: (asString(previous['data']) ?? '') + audio['data'] } : {}),
        ...(typeof audio['transcript'] === 'string' ? { transcript: (asString(previous['transcript']) ?? '') + audio['transcript'] } : {}),
      };
    }
    if (Array.isArray(delta['annotations'])) state.annotations = grown(state.annotations, delta['annotations'] as unknown[]);
    const logprobs = raw['logprobs'] as Json | null | undefined;
    if (logprobs && typeof logprobs === 'object') {
      state.logprobs ??= { content: undefined, refusal: undefined };
      if (Array.isArray(logprobs['content'])) state.logprobs.content = grown(state.logprobs.content, logprobs['content'] as unknown[]);
      if (Array.isArray(logprobs['refusal'])) state.logprobs.refusal = grown(state.logprobs.refusal, logprobs['refusal'] as unknown[]);
    }
    if (typeof raw['finish_reason'] === 'string') state.finishReason = raw['finish_reason'];
    keepOthers(raw, CHOICE_FIELDS, state.extras);
    keepOthers(delta, DELTA_FIELDS, state.messageExtras, true);
  }

  private addToolCall(state: ChoiceState, call: Json): void {
    const index = typeof call['index'] === 'number' ? call['index'] : state.toolCalls.size;
    let tool = state.toolCalls.get(index);
    if (!tool) {
      tool = { name: '', arguments: '', extras: {} };
      state.toolCalls.set(index, tool);
    }
    keepOthers(call, CALL_FIELDS, tool.extras);
    tool.id = asString(call['id']) ?? tool.id;
    tool.type = asString(call['type']) ?? tool.type;
    const fn = call['function'] as Json | undefined;
    if (fn && typeof fn === 'object') {
      tool.name += asString(fn['name']) ?? '';
      tool.arguments += asString(fn['arguments']) ?? '';
    }
    const custom = call['custom'] as Json | undefined;
    if (custom && typeof custom === 'object') {
      tool.custom ??= { name: '', input: '' };
      tool.custom.name += asString(custom['name']) ?? '';
      tool.custom.input += asString(custom['input']) ?? '';
    }
  }

  /** True once every choice seen has a finish reason (a complete answer). */
  get complete(): boolean {
    return this.choices.size > 0 && [...this.choices.values()].every((c) => c.finishReason !== null);
  }

  /** The assembled `chat.completion` document. */
  result(): Json {
    const choices = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        // A call's answer has no text: its content is null, as OpenAI sends it, even from a stream that began with "".
        const calls = c.toolCalls.size > 0 || c.functionCall !== undefined;
        const message: Json = {
          role: c.role ?? 'assistant',
          content: (calls && c.content === '' ? null : c.content) ?? null,
          refusal: c.refusal ?? null,
        };
        if (c.annotations) message['annotations'] = c.annotations;
        if (c.toolCalls.size > 0) {
          message['tool_calls'] = [...c.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, t]) =>
              t.custom
                ? { id: t.id ?? '', type: t.type ?? 'custom', custom: t.custom, ...t.extras }
                : { id: t.id ?? '', type: t.type ?? 'function', function: { name: t.name, arguments: t.arguments }, ...t.extras },
            );
        }
        if (c.functionCall) message['function_call'] = c.functionCall;
        if (c.audio) message['audio'] = c.audio;
        Object.assign(message, c.messageExtras);
        return {
          index,
          message,
          logprobs: c.logprobs ? { content: c.logprobs.content ?? null, refusal: c.logprobs.refusal ?? null } : null,
          finish_reason: c.finishReason,
          ...c.extras,
        };
      });
    const { id, created, model, system_fingerprint, service_tier } = this.head;
    return {
      id: id ?? '',
      object: 'chat.completion',
      created: created ?? 0,
      model: model ?? '',
      choices,
      ...(this.usage !== undefined ? { usage: this.usage } : {}),
      ...(service_tier !== undefined ? { service_tier } : {}),
      ...(system_fingerprint !== undefined ? { system_fingerprint } : {}),
      ...this.headExtras,
    };
  }
}
