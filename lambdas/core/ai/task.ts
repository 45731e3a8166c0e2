/**
 * Which task a request belongs to: header `x-task-type`, body `metadata.task_type`, or a task alias
 * used as the model (`task:content_planning`). Unknown values are a client error.
 */
import { echoed, ValidationError } from '../errors';
import { TASK_TYPES, type TaskType } from './route-table';

export const TASK_ALIAS_PREFIX = 'task:';

export type TaskSource = 'header' | 'metadata' | 'model_alias' | 'default' | 'endpoint';

export interface TaskResolution {
  taskType: TaskType;
  source: TaskSource;
  /** The model to honour (undefined when the request named a task alias instead of a model). */
  requestedModel: string | undefined;
}

function isTaskType(value: string): value is TaskType {
  return (TASK_TYPES as readonly string[]).includes(value);
}

function check(value: string, param: string): TaskType {
  if (!isTaskType(value)) {
    throw new ValidationError(
      `Unknown task type "${echoed(value)}". Expected one of: ${TASK_TYPES.join(', ')}.`,
      param,
      'invalid_task_type',
    );
  }
  return value;
}

/** Resolves the task type; when several hints are given they must agree. */
export function resolveTask(input: { header?: string | undefined; metadataTaskType?: unknown; model: string }): TaskResolution {
  const hints: Array<{ value: TaskType; source: TaskSource; param: string }> = [];
  if (input.header !== undefined) hints.push({ value: check(input.header.trim(), 'x-task-type'), source: 'header', param: 'x-task-type' });
  if (input.metadataTaskType !== undefined) {
    if (typeof input.metadataTaskType !== 'string') {
      throw new ValidationError('metadata.task_type must be a string.', 'metadata.task_type', 'invalid_task_type');
    }
    hints.push({ value: check(input.metadataTaskType, 'metadata.task_type'), source: 'metadata', param: 'metadata.task_type' });
  }
  const alias = input.model.startsWith(TASK_ALIAS_PREFIX);
  if (alias) hints.push({ value: check(input.model.slice(TASK_ALIAS_PREFIX.length), 'model'), source: 'model_alias', param: 'model' });

  const [first, ...rest] = hints;
  const conflict = rest.find((h) => h.value !== first?.value);
  if (first && conflict) {
    throw new ValidationError(
      `Conflicting task types: ${first.source} says "${first.value}" but ${conflict.source} says "${conflict.value}".`,
      conflict.param,
      'invalid_task_type',
    );
  }
  return {
    taskType: first?.value ?? 'general',
    source: first?.source ?? 'default',
    requestedModel: alias ? undefined : input.model,
  };
}
