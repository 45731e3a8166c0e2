/**
 * Providers managed at runtime (`/admin/providers`): configurations stored in one shared item that
 * every instance reads in the background (every `refreshMs`; a stale view waits at most `waitMs` for a
 * fresh one), keys kept in a credential vault (Secrets Manager on AWS, a file under `DATA_DIR` locally)
 * and never returned by any API.
 *
 * Effective configuration, field by field: the runtime configuration, then the environment (or the
 * provider's deploy-time secret), then the route table. A runtime entry may override a built-in or
 * route-table provider (its own type: `openai`, `azure-openai`, `bedrock`, or an `openai-compatible`
 * instance) or add an `openai-compatible` endpoint. `active: false` takes a provider's targets out of
 * every task; `default: true` appends it (its first model) to every task as the last resort; `priority`
 * orders targets across providers (lower first; the task's order among equals). A change that would
 * leave a task without a reachable target (active, with credentials) is refused before it is saved.
 */
import * as z from 'zod';
import { ConfigError, formatIssues, errorFields } from '../errors';
import type { Clock } from '../ports';
import { within } from '../within';
import type { Telemetry } from '../telemetry';
import type { CredentialSource, ProviderCredentials } from './ports';
import {
  credentialFree,
  ProviderIdSchema,
  RouteTableSchema,
  TASK_TYPES,
  TIERS,
  type ProviderCatalog,
  type ProviderId,
  type RouteTable,
} from './route-table';

export const RUNTIME_PROVIDER_TYPES = ['openai', 'azure-openai', 'bedrock', 'openai-compatible'] as const;
export type RuntimeProviderType = (typeof RUNTIME_PROVIDER_TYPES)[number];

const name = z.string().min(1).max(200);
const modelList = z.array(name).min(1).max(200);

/**
 * A destination URL without credentials or a query: a key there would be stored, logged in the audit
 * line and shown to admins; keys go in `apiKey`, which the vault keeps.
 */
const destination = () =>
  z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine(credentialFree, 'no credentials or query in the URL: keys go in apiKey');

/** What an admin sends: public fields, and `apiKey`, which is stored in the vault and never shown again. */
export const ProviderConfigInputSchema = z.strictObject({
  type: z.enum(RUNTIME_PROVIDER_TYPES),
  /** OpenAI and OpenAI-compatible endpoints: the base URL up to `/v1`. */
  baseURL: destination().optional(),
  /** Azure OpenAI: `https://<resource>.openai.azure.com`. */
  endpoint: destination().optional(),
  apiVersion: z.string().min(1).max(64).optional(),
  /** Bedrock: the region. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1')
    .optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).optional(),
  apiKey: z.string().min(1).max(4096).optional(),
  apiKeyRequired: z.boolean().optional(),
  responsesApi: z.boolean().optional(),
  models: modelList,
  embeddingModels: z.array(name).max(200).optional(),
  deployments: z.record(name, name).optional(),
  default: z.boolean().default(false),
  active: z.boolean().default(true),
  priority: z.number().int().min(-1000).max(1000).default(0),
});
export type ProviderConfigInput = z.infer<typeof ProviderConfigInputSchema>;

/** A stored runtime configuration: the input without its key, with who changed it and when. */
export interface StoredProviderConfig extends Omit<ProviderConfigInput, 'apiKey'> {
  /** Whether the vault holds a key for it, and which write put it there (instances reload it when this changes). */
  keyVersion: string | null;
  updatedAt: string;
  updatedBy: string;
}

export interface ProviderConfigDocument {
  version: number;
  configs: Record<ProviderId, StoredProviderConfig>;
}

/** The shared item of runtime configurations, replaced whole with a condition on its version. */
export interface ProviderConfigStore {
  read(): Promise<ProviderConfigDocument>;
  /** Writes `next` if the stored version is still `next.version - 1`; false when another write came first. */
  write(next: ProviderConfigDocument): Promise<boolean>;
}

/**
 * Where runtime providers' keys live, one version per change: a version is written before the
 * configuration that names it, so a change that loses its race (or fails) leaves an unused version and
 * never alters the key the fleet uses. Read by every instance; deleted with the configuration.
 */
export interface CredentialVault {
  put(id: ProviderId, version: string, secret: { apiKey: string }): Promise<void>;
  get(id: ProviderId, version: string): Promise<{ apiKey: string } | undefined>;
  delete(id: ProviderId): Promise<void>;
}

/** A change the gateway refuses: the status and the field it names. */
export class ProviderConfigError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
    readonly param: string | null,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The credential fields a runtime configuration carries besides its key, per type. */
function publicCredentialFields(config: StoredProviderConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if ((config.type === 'openai' || config.type === 'openai-compatible') && config.baseURL) fields['baseURL'] = config.baseURL;
  if (config.type === 'azure-openai') {
    if (config.endpoint) fields['endpoint'] = config.endpoint;
    if (config.apiVersion) fields['apiVersion'] = config.apiVersion;
  }
  if (config.type === 'bedrock' && config.region) fields['region'] = config.region;
  return fields;
}

/** A configuration that leaves a task without a target the gateway could call. */
export class TaskUnreachable extends ConfigError {
  constructor(readonly task: string) {
    super(`This change would leave the ${task} task without a reachable target (active, with credentials).`);
  }
}

/** The route table with the runtime configurations applied (see the module comment); validated by the route table's schema. */
export function effectiveRouteTable(base: RouteTable, configs: Record<ProviderId, StoredProviderConfig>): RouteTable {
  const providers: Record<string, ProviderCatalog> = { ...base.providers };
  for (const [id, config] of Object.entries(configs)) {
    const catalog: ProviderCatalog = {
      ...providers[id],
      models: config.models,
      ...(config.embeddingModels ? { embeddingModels: config.embeddingModels } : {}),
      ...(config.deployments ? { deployments: config.deployments } : {}),
    };
    if (config.type === 'openai-compatible') {
      catalog.type = 'openai-compatible';
      if (config.baseURL) catalog.baseURL = config.baseURL;
      if (config.headers) catalog.headers = config.headers;
      if (config.apiKeyRequired !== undefined) catalog.apiKeyRequired = config.apiKeyRequired;
      if (config.responsesApi !== undefined) catalog.responsesApi = config.responsesApi;
    }
    providers[id] = catalog;
  }
  // An inactive provider is out of the table altogether: no target, no model served by name, no embeddings.
  for (const [id, config] of Object.entries(configs)) if (!config.active) delete providers[id];
  const priority = (provider: string) => configs[provider]?.priority ?? 0;
  const defaults = Object.entries(configs).filter(([, c]) => c.default && c.active);
  type Target = RouteTable['tasks']['general']['targets'][number];
  const arrange = (targets: Target[], withDefaults: boolean): Target[] => {
    const kept = targets
      .filter((t) => providers[t.provider]?.models.includes(t.model))
      // A stable sort: the task's own order among providers of equal priority.
      .map((t, i) => ({ t, i }))
      .sort((a, b) => priority(a.t.provider) - priority(b.t.provider) || a.i - b.i)
      .map(({ t }) => t);
    // The default providers come last, whatever their priority: the last resort.
    if (withDefaults)
      for (const [id, c] of defaults) if (!kept.some((t) => t.provider === id)) kept.push({ provider: id, model: c.models[0]! });
    return kept;
  };
  const tasks = Object.fromEntries(
    TASK_TYPES.map((task) => {
      const route = base.tasks[task];
      const targets = arrange(route.targets, true);
      if (targets.length === 0) throw new TaskUnreachable(task);
      const tiers = route.tiers
        ? Object.fromEntries(
            TIERS.flatMap((tier) => {
              const list = route.tiers?.[tier];
              const arranged = list ? arrange(list, false) : [];
              return arranged.length > 0 ? [[tier, arranged]] : [];
            }),
          )
        : undefined;
      return [task, { ...route, targets, ...(tiers ? { tiers } : {}) }];
    }),
  ) as RouteTable['tasks'];
  const parsed = RouteTableSchema.safeParse({ ...base, providers, tasks });
  if (!parsed.success)
    throw new ConfigError(`the providers' runtime configuration makes an invalid route table: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

export interface ProviderConfigsOptions {
  /** How often each instance reads the shared configurations. */
  refreshMs: number;
  /** A view older than this waits (at most `waitMs`) for a fresh read before it is used. */
  maxStaleMs: number;
  waitMs: number;
}

export const DEFAULT_PROVIDER_CONFIG_OPTIONS: ProviderConfigsOptions = { refreshMs: 10_000, maxStaleMs: 30_000, waitMs: 1000 };

interface View {
  document: ProviderConfigDocument;
  table: RouteTable;
  keys: Map<ProviderId, { version: string; secret: { apiKey: string } | undefined }>;
  readAt: number;
}

export interface ProviderConfigsDeps {
  base: RouteTable;
  store: ProviderConfigStore;
  vault: CredentialVault;
  /** Credentials from the environment or the deploy-time secrets (the layer under the runtime one). */
  credentials: CredentialSource;
  clock: Clock;
  telemetry: Telemetry;
  /**
   * Checks a table's providers as at start (unknown types, reserved ids, colliding variables) and says
   * whether a provider's credential document is complete; throws a `ConfigError`.
   */
  providers: {
    validate(table: RouteTable): void;
    /** The validated credentials of provider `id` of `table`, or `undefined` when the document is incomplete. */
    parse(table: RouteTable, id: ProviderId, credentials: Record<string, unknown>): Record<string, unknown> | undefined;
    builtIn: readonly ProviderId[];
  };
}

/** The runtime configurations as every instance sees them, and the admin changes to them. */
export class ProviderConfigs implements CredentialSource {
  private view: View;
  private refreshing: Promise<void> | undefined;
  /** When the last read ended, well or not: through a store outage requests do not each wait for a read that fails. */
  private attemptedAt = 0;
  /**
   * The stored document when it could not be applied (it no longer fits this deployment's route table):
   * the base of the next change, so an admin can repair it, while `view` keeps the last good state.
   */
  private unapplied: { document: ProviderConfigDocument; keys: View['keys'] } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ProviderConfigsDeps,
    private readonly options: ProviderConfigsOptions = DEFAULT_PROVIDER_CONFIG_OPTIONS,
  ) {
    // Until the first read: the route table as deployed (readAt 0 makes the first request wait for a read).
    this.view = { document: { version: 0, configs: {} }, table: deps.base, keys: new Map(), readAt: 0 };
  }

  /** The effective route table (in memory, no I/O). */
  current(): RouteTable {
    return this.view.table;
  }

  /** Resolves at once while the view is fresh; otherwise after a fresh read or `waitMs`, whichever comes first. */
  async ready(): Promise<void> {
    if (this.deps.clock.now() - Math.max(this.view.readAt, this.attemptedAt) <= this.options.maxStaleMs) return;
    await within(this.refresh(), this.options.waitMs, undefined);
  }

  start(): void {
    void this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the shared configurations (and the keys that changed since the last read); one read at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load()
      .catch((error: unknown) => {
        this.deps.telemetry.error('provider configurations not read', { error: errorFields(error) });
        throw error;
      })
      .finally(() => {
        this.refreshing = undefined;
        this.attemptedAt = this.deps.clock.now();
      });
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const document = await this.deps.store.read();
    // A read that began before this instance's own change landed is older than what it already holds
    // (asked again after the keys are read: a change of this instance's may land meanwhile).
    const older = () => document.version < Math.max(this.view.document.version, this.unapplied?.document.version ?? 0);
    if (older()) return;
    const keys = new Map(this.view.keys);
    await Promise.all(
      Object.entries(document.configs).map(async ([id, config]) => {
        if (config.keyVersion === null) keys.delete(id);
        else if (keys.get(id)?.version !== config.keyVersion) {
          // One unreadable key leaves that provider without credentials (read again at the next
          // refresh), not the whole view stale.
          try {
            keys.set(id, { version: config.keyVersion, secret: await this.deps.vault.get(id, config.keyVersion) });
          } catch (error) {
            this.deps.telemetry.error('runtime provider key not read', { provider: id, error: errorFields(error) });
            keys.delete(id);
          }
        }
      }),
    );
    for (const id of keys.keys()) if (!document.configs[id]) keys.delete(id);
    if (older()) return;
    let table: RouteTable;
    try {
      table = effectiveRouteTable(this.deps.base, document.configs);
      this.deps.providers.validate(table);
    } catch (error) {
      // Saved changes were validated; one that no longer fits this deployment's route table (changed since)
      // keeps the last good table in force, while the stored document stays the base of the next change (a fix).
      this.deps.telemetry.error('provider configurations not applied', { error: errorFields(error) });
      this.unapplied = { document, keys };
      this.view = { ...this.view, readAt: this.deps.clock.now() };
      return;
    }
    this.unapplied = undefined;
    this.view = { document, table, keys, readAt: this.deps.clock.now() };
  }

  /** Credentials: the runtime layer over the environment's (or secret's), field by field. */
  async get(provider: ProviderId): Promise<ProviderCredentials | undefined> {
    return this.credentialsIn(this.view, provider);
  }

  private async credentialsIn(
    view: Pick<View, 'document' | 'table' | 'keys'>,
    provider: ProviderId,
  ): Promise<ProviderCredentials | undefined> {
    const config = view.document.configs[provider];
    const base = await this.deps.credentials.get(provider);
    if (!config) return base;
    // A configuration that names a key uses that key or none: never the deploy-time key at its destination.
    const held = view.keys.get(provider);
    if (config.keyVersion !== null && (held?.version !== config.keyVersion || !held.secret)) return undefined;
    const secret = held?.secret;
    const document = { ...base?.credentials, ...publicCredentialFields(config), ...(secret ? { apiKey: secret.apiKey } : {}) };
    const credentials = this.deps.providers.parse(view.table, provider, document);
    return credentials ? { provider, credentials } : undefined;
  }

  /** Every effective provider, where its configuration comes from, never a key. */
  async describe(id?: ProviderId) {
    const view = this.view;
    const ids = [...new Set([...Object.keys(view.table.providers), ...Object.keys(view.document.configs)])].filter(
      (p) => id === undefined || p === id,
    );
    return Promise.all(
      ids.map(async (p) => {
        const runtime = view.document.configs[p];
        // An inactive provider is out of the table in force: described as it would be when active.
        const shown =
          view.table.providers[p] || !runtime
            ? view
            : { ...view, table: effectiveRouteTable(this.deps.base, { ...view.document.configs, [p]: { ...runtime, active: true } }) };
        const catalog = shown.table.providers[p]!;
        const credentials = await this.credentialsIn(shown, p);
        return {
          id: p,
          object: 'provider' as const,
          source: runtime ? 'runtime' : 'route_table',
          type: runtime?.type ?? catalog.type ?? p,
          ...(catalog.baseURL ? { baseURL: catalog.baseURL } : {}),
          ...(runtime?.endpoint ? { endpoint: runtime.endpoint } : {}),
          ...(runtime?.region ? { region: runtime.region } : {}),
          models: catalog.models,
          ...(catalog.embeddingModels ? { embeddingModels: catalog.embeddingModels } : {}),
          ...(catalog.deployments ? { deployments: catalog.deployments } : {}),
          default: runtime?.default ?? false,
          active: runtime?.active ?? true,
          priority: runtime?.priority ?? 0,
          credentials: {
            configured: credentials !== undefined,
            source: runtime?.keyVersion ? 'runtime' : credentials ? 'environment' : null,
          },
          ...(runtime ? { updatedAt: runtime.updatedAt, updatedBy: runtime.updatedBy } : {}),
        };
      }),
    );
  }

  /** Creates (`create`), replaces (`replace`) or deletes (`remove`) a runtime configuration, after checking the result. */
  async change(
    action: 'create' | 'replace' | 'remove',
    id: ProviderId,
    input: ProviderConfigInput | undefined,
    by: string,
    keyVersion: () => string,
  ): Promise<void> {
    if (!ProviderIdSchema.safeParse(id).success || id === 'local')
      throw new ProviderConfigError('Provider ids are lower-case letters, digits and -, and not "local".', 400, 'id', 'invalid_id');
    await this.refresh();
    const view = this.view;
    // The stored document is the base, applied or not (a change may be the repair).
    const base = this.unapplied?.document ?? view.document;
    const baseKeys = this.unapplied?.keys ?? view.keys;
    const existing = base.configs[id];
    if (action === 'create' && existing)
      throw new ProviderConfigError(`Provider ${id} already has a runtime configuration: use PUT.`, 409, 'id', 'conflict');
    if (action === 'remove' && !existing)
      throw new ProviderConfigError(`Provider ${id} has no runtime configuration.`, 404, 'id', 'not_found');
    if (action === 'replace' && !existing && !view.table.providers[id])
      throw new ProviderConfigError(`No provider ${id}: create it with POST /admin/providers.`, 404, 'id', 'not_found');
    const configs = { ...base.configs };
    let newKey: { apiKey: string } | undefined;
    if (input) {
      this.checkType(id, input);
      await this.checkDestination(view, id, input, existing);
      const { apiKey, ...fields } = input;
      newKey = apiKey !== undefined ? { apiKey } : undefined;
      configs[id] = {
        ...fields,
        keyVersion: newKey ? keyVersion() : (existing?.keyVersion ?? null),
        updatedAt: new Date(this.deps.clock.now()).toISOString(),
        updatedBy: by,
      };
    } else delete configs[id];
    const document = { version: base.version + 1, configs };
    let table: RouteTable;
    try {
      table = effectiveRouteTable(this.deps.base, configs);
      this.deps.providers.validate(table);
    } catch (error) {
      if (error instanceof TaskUnreachable) throw new ProviderConfigError(error.message, 400, null, 'task_unreachable');
      throw new ProviderConfigError((error as Error).message.replace(/^.*?route table: /, ''), 400, null, 'invalid_provider_config');
    }
    const keys = new Map(baseKeys);
    if (newKey) keys.set(id, { version: configs[id]!.keyVersion!, secret: newKey });
    if (!configs[id]) keys.delete(id);
    await this.checkReachable({ document, table, keys });
    // The key's new version first: until the configuration naming it is stored, nothing reads it.
    if (newKey) await this.deps.vault.put(id, configs[id]!.keyVersion!, newKey);
    if (!(await this.deps.store.write(document)))
      throw new ProviderConfigError('Another change to the providers came first: read them again and retry.', 409, null, 'conflict');
    this.unapplied = undefined;
    this.view = { document, table, keys, readAt: this.deps.clock.now() };
    // The change is made: a key left behind is reported, not a reason to say it failed.
    if (action === 'remove' && existing?.keyVersion)
      await this.deps.vault
        .delete(id)
        .catch((error: unknown) =>
          this.deps.telemetry.error('runtime provider key not deleted', { provider: id, error: errorFields(error) }),
        );
    // The audit trail: who changed what, never the key (only whether one was set).
    this.deps.telemetry.info('provider configuration changed', {
      action,
      provider: id,
      by,
      version: document.version,
      keySet: newKey !== undefined,
      ...(input ? { config: { ...configs[id], keyVersion: undefined } } : {}),
    });
  }

  /**
   * A change of destination (base URL or endpoint, set, changed or dropped) needs its key in the same
   * request: the key in force, deploy-time or runtime, is never sent anywhere else than where it was
   * meant for. Both destinations are read with the provider taken as active (an inactive one keeps its key).
   */
  private async checkDestination(
    view: View,
    id: ProviderId,
    input: ProviderConfigInput,
    existing: StoredProviderConfig | undefined,
  ): Promise<void> {
    if (input.apiKey !== undefined) return;
    const at = async (config: StoredProviderConfig | undefined) => {
      const configs = { ...view.document.configs };
      if (config) configs[id] = { ...config, active: true };
      else delete configs[id];
      let table: RouteTable;
      try {
        table = effectiveRouteTable(this.deps.base, configs);
      } catch {
        return undefined;
      }
      const credentials = (await this.credentialsIn({ document: { version: 0, configs }, table, keys: view.keys }, id))?.credentials;
      return { key: credentials?.['apiKey'], where: credentials?.['baseURL'] ?? credentials?.['endpoint'] ?? table.providers[id]?.baseURL };
    };
    const before = await at(existing);
    const candidate: StoredProviderConfig = { ...input, keyVersion: existing?.keyVersion ?? null, updatedAt: '', updatedBy: '' };
    const after = await at(candidate);
    const key = after?.key ?? before?.key;
    if (typeof key !== 'string' || key === '' || key === 'none') return;
    if (before?.where !== after?.where)
      throw new ProviderConfigError(
        'A new baseURL or endpoint needs its apiKey in the same request: the current key stays where it was meant for.',
        400,
        'apiKey',
        'api_key_required',
      );
  }

  private checkType(id: ProviderId, input: ProviderConfigInput): void {
    const builtIn = this.deps.providers.builtIn.includes(id);
    const expected = builtIn ? id : 'openai-compatible';
    if (input.type !== expected)
      throw new ProviderConfigError(
        builtIn
          ? `Provider ${id} is of type ${id}.`
          : `A provider of another id than ${this.deps.providers.builtIn.join(', ')} is of type openai-compatible.`,
        400,
        'type',
        'invalid_type',
      );
    const allowed: Record<RuntimeProviderType, readonly string[]> = {
      openai: ['baseURL'],
      'azure-openai': ['endpoint', 'apiVersion'],
      bedrock: ['region'],
      'openai-compatible': ['baseURL', 'headers', 'apiKeyRequired', 'responsesApi'],
    };
    for (const field of ['baseURL', 'endpoint', 'apiVersion', 'region', 'headers', 'apiKeyRequired', 'responsesApi'] as const)
      if (input[field] !== undefined && !allowed[input.type].includes(field))
        throw new ProviderConfigError(
          `${field} does not apply to a provider of type ${input.type}.`,
          400,
          field,
          'invalid_provider_config',
        );
    if (input.type === 'bedrock') {
      // The functions' role is granted the deployed route table's Bedrock models only (and the stack's region).
      const granted = this.deps.base.providers['bedrock'];
      const ids = (catalog: Pick<ProviderCatalog, 'models' | 'embeddingModels' | 'deployments'>) =>
        [...catalog.models, ...(catalog.embeddingModels ?? [])].map((m) => catalog.deployments?.[m] ?? m);
      const allowed = new Set(granted ? ids(granted) : []);
      const outside = ids(input).filter((m) => !allowed.has(m));
      if (outside.length > 0)
        throw new ProviderConfigError(
          `Bedrock can only use the models the deployed route table lists (their IAM grants come with it): ${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} not among them.`,
          400,
          'models',
          'invalid_provider_config',
        );
      if (input.region !== undefined)
        throw new ProviderConfigError(
          "Bedrock's region is the deployment's (BEDROCK_REGION): it cannot change at run time.",
          400,
          'region',
          'invalid_provider_config',
        );
    }
    if (input.type === 'openai-compatible' && !input.baseURL && !this.deps.base.providers[id]?.baseURL)
      throw new ProviderConfigError('An openai-compatible provider needs its baseURL.', 400, 'baseURL', 'invalid_provider_config');
  }

  /**
   * Refuses a configuration that leaves a task without a target that is active and has credentials (a
   * tier left without targets falls back to the next one up, and at last to the task's targets).
   */
  private async checkReachable(view: Pick<View, 'document' | 'table' | 'keys'>): Promise<void> {
    const reachable = new Map<ProviderId, boolean>();
    for (const id of Object.keys(view.table.providers)) reachable.set(id, (await this.credentialsIn(view, id)) !== undefined);
    for (const task of TASK_TYPES) {
      if (!view.table.tasks[task].targets.some((t) => reachable.get(t.provider)))
        throw new ProviderConfigError(
          `This change would leave the ${task} task without a reachable target (active, with credentials).`,
          400,
          null,
          'task_unreachable',
        );
    }
  }
}
