import defaultRoutes from '../../../../config/routes.json';
import { parseRouteTable, planRoute, routableModels, type RouteTable } from '../../../../lambdas/core/ai/route-table';

const table: RouteTable = parseRouteTable(defaultRoutes, 'config/routes.json');

describe('default route table', () => {
  it('sends content planning to Azure OpenAI first, then OpenAI', () => {
    expect(planRoute(table, 'content_planning', undefined).map((t) => t.provider)).toEqual(['azure-openai', 'openai']);
  });

  it('sends message generation and general requests to OpenAI first, then Azure OpenAI', () => {
    expect(planRoute(table, 'message_generation', undefined).map((t) => t.provider)).toEqual(['openai', 'azure-openai']);
    expect(planRoute(table, 'general', undefined).map((t) => t.provider)).toEqual(['openai', 'azure-openai']);
  });
});

describe('planRoute', () => {
  it('honours the requested model where the target can serve it', () => {
    const [first, second] = planRoute(table, 'general', 'gpt-4.1');
    expect(first).toMatchObject({ provider: 'openai', model: 'gpt-4.1', modelSource: 'requested' });
    expect(second).toMatchObject({ provider: 'azure-openai', model: 'gpt-4.1', modelSource: 'requested' });
  });

  it("uses the task's default model for a target that cannot serve the requested one", () => {
    const [openai, azure] = planRoute(table, 'general', 'o4-mini');
    expect(openai).toMatchObject({ model: 'o4-mini', modelSource: 'requested' });
    expect(azure).toMatchObject({ model: 'gpt-4o-mini', modelSource: 'task_default' });
  });

  it("sends a model no target of the task serves to the providers that serve it first, the task's targets after it", () => {
    const planned = planRoute(table, 'content_planning', 'claude-sonnet-4');
    expect(planned.map((t) => [t.provider, t.model, t.upstreamModel, t.modelSource])).toEqual([
      ['bedrock', 'claude-sonnet-4', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 'requested'],
      ['azure-openai', 'gpt-4o', 'gpt-4o', 'task_default'],
      ['openai', 'gpt-4o', 'gpt-4o', 'task_default'],
    ]);
    // The defaults apply to the added target; a task's own settings stay on its targets.
    expect(planned[0]!.timeouts).toEqual(table.defaults.timeouts);
    expect(planned[1]!.timeouts.totalMs).toBe(180_000);
  });

  it('sends the Azure deployment name upstream', () => {
    const custom = parseRouteTable(
      {
        ...defaultRoutes,
        providers: {
          ...defaultRoutes.providers,
          'azure-openai': { models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini'], deployments: { 'gpt-4o': 'prod-4o-eu' } },
        },
        tasks: { ...defaultRoutes.tasks, general: { targets: [{ provider: 'azure-openai', model: 'gpt-4o' }] } },
      },
      'test',
    );
    expect(planRoute(custom, 'general', undefined)[0]).toMatchObject({ model: 'gpt-4o', upstreamModel: 'prod-4o-eu' });
  });

  it('merges per-target timeouts and retry settings over the defaults', () => {
    const [target] = planRoute(table, 'content_planning', undefined);
    expect(target?.timeouts).toEqual({ connectMs: 3000, firstByteMs: 10000, idleMs: 30000, totalMs: 180000 });
    expect(target?.retry.attempts).toBe(2);
  });
});

describe('parseRouteTable', () => {
  it('rejects a target whose model the provider does not list, naming the field', () => {
    const bad = { ...defaultRoutes, tasks: { ...defaultRoutes.tasks, general: { targets: [{ provider: 'openai', model: 'nope' }] } } };
    expect(() => parseRouteTable(bad, 'x')).toThrow(/tasks\.general\.targets\.0\.model: model "nope"/);
  });

  it('rejects unknown providers and an empty target list', () => {
    const unknown = { ...defaultRoutes, tasks: { ...defaultRoutes.tasks, general: { targets: [{ provider: 'anthropic', model: 'x' }] } } };
    expect(() => parseRouteTable(unknown, 'x')).toThrow(/tasks\.general\.targets\.0\.provider/);
    const empty = { ...defaultRoutes, tasks: { ...defaultRoutes.tasks, general: { targets: [] } } };
    expect(() => parseRouteTable(empty, 'x')).toThrow(/tasks\.general\.targets/);
  });

  it('lists every routable model with the providers serving it', () => {
    expect(routableModels(table).get('gpt-4o')).toEqual(['openai', 'azure-openai']);
    expect(routableModels(table).get('o4-mini')).toEqual(['openai']);
  });
});
