import { ValidationError } from '../../../../lambdas/core/errors';
import { resolveTask } from '../../../../lambdas/core/ai/task';

describe('resolveTask', () => {
  it('defaults to general and honours the model', () => {
    expect(resolveTask({ model: 'gpt-4o' })).toEqual({ taskType: 'general', source: 'default', requestedModel: 'gpt-4o' });
  });

  it('reads the x-task-type header, then metadata.task_type', () => {
    expect(resolveTask({ header: 'content_planning', model: 'gpt-4o' }).taskType).toBe('content_planning');
    expect(resolveTask({ metadataTaskType: 'message_generation', model: 'gpt-4o' })).toMatchObject({
      taskType: 'message_generation',
      source: 'metadata',
    });
  });

  it('accepts a task alias as the model and then asks for no specific model', () => {
    expect(resolveTask({ model: 'task:content_planning' })).toEqual({
      taskType: 'content_planning',
      source: 'model_alias',
      requestedModel: undefined,
    });
  });

  it('rejects unknown task types, naming where they came from', () => {
    expect(() => resolveTask({ header: 'poetry', model: 'gpt-4o' })).toThrow(ValidationError);
    try {
      resolveTask({ metadataTaskType: 'poetry', model: 'gpt-4o' });
    } catch (error) {
      expect((error as ValidationError).param).toBe('metadata.task_type');
    }
    expect(() => resolveTask({ model: 'task:poetry' })).toThrow(/Unknown task type "poetry"/);
  });

  it('rejects hints that disagree', () => {
    expect(() => resolveTask({ header: 'general', metadataTaskType: 'content_planning', model: 'gpt-4o' })).toThrow(
      /Conflicting task types/,
    );
  });

  it('accepts hints that agree', () => {
    expect(resolveTask({ header: 'general', metadataTaskType: 'general', model: 'task:general' }).taskType).toBe('general');
  });
});
