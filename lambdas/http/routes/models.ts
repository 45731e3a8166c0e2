/** `GET /v1/models`: the chat and embedding models the route table can serve, plus one `task:<type>` alias per task. */
import { Hono } from 'hono';
import { perRouteTable, routableModels, TASK_TYPES } from '../../core/ai/route-table';
import { TASK_ALIAS_PREFIX } from '../../core/ai/task';
import type { RouteTable } from '../../core/ai/route-table';
import type { AppEnv } from '../context';
import { echoed } from '../../core/errors';
import { errorResponse } from '../errors';

function modelList(table: RouteTable) {
  return [
    ...[...routableModels(table), ...routableModels(table, 'embeddings')].map(([id, providers]) => ({
      id,
      object: 'model' as const,
      created: CREATED,
      owned_by: providers.join(','),
    })),
    ...TASK_TYPES.map((task) => ({
      id: `${TASK_ALIAS_PREFIX}${task}`,
      object: 'model' as const,
      created: CREATED,
      owned_by: 'hybrid-orchestrator',
    })),
  ];
}

/** Fixed creation time for the list (the gateway does not know when upstream models were created). */
const CREATED = 1_735_689_600;

export function modelRoutes(deps: { routes: () => RouteTable }) {
  // The list of the route table in force (it changes with runtime provider configurations).
  const listOf = perRouteTable(modelList);
  const current = () => listOf(deps.routes());
  const app = new Hono<AppEnv>();
  app.get('/v1/models', (c) => c.json({ object: 'list', data: current() }));
  app.get('/v1/models/:model{.+}', (c) => {
    const model = current().find((m) => m.id === c.req.param('model'));
    if (!model) {
      return errorResponse(c, 404, {
        message: `The model '${echoed(c.req.param('model'), 256)}' does not exist.`,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    }
    return c.json(model);
  });
  return app;
}
