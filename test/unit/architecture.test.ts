/** The layering the project relies on, checked on the source so it cannot drift silently. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

/** The repository-relative file a relative import names, or undefined for a package. */
function resolveImport(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = normalize(join(dirname(file), spec));
  return (
    [base, `${base}.ts`, join(base, 'index.ts')].find(
      (candidate) => existsSync(join(ROOT, candidate)) && statSync(join(ROOT, candidate)).isFile(),
    ) ?? base
  );
}

/** Every import cycle among `files` (type-only imports count: they tie the modules as much as values do). */
export function findCycles(files: string[], importsOf: (file: string) => string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => files.includes(target))]));
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

describe('architecture', () => {
  it('keeps lambdas/core pure: it imports only itself, Node built-ins and zod', () => {
    const offending = sources('lambdas/core').flatMap((file) =>
      imports(file)
        .filter((spec) => {
          const target = resolveImport(file, spec);
          if (target === undefined) return !(spec.startsWith('node:') || spec === 'zod');
          return !target.startsWith(join('lambdas', 'core'));
        })
        .map((spec) => `${relative(ROOT, join(ROOT, file))} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('has no import cycle in lambdas/, lib/ or bin/', () => {
    const files = [...sources('lambdas'), ...sources('lib'), ...sources('bin')];
    const cycles = findCycles(files, (file) => imports(file).flatMap((spec) => resolveImport(file, spec) ?? []));
    expect(cycles.map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('detects a cycle when there is one (the check itself can fail)', () => {
    const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['a'] };
    expect(findCycles(Object.keys(graph), (file) => graph[file]!)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it("builds SDK clients only in the composition root (its runtime adapters and the lazily loaded AWS client modules), the local runner and each provider's own folder (rebuilt on key rotation)", () => {
    const constructing = sources('lambdas').filter((file) =>
      /new (DynamoDBClient|SecretsManagerClient|SNSClient|SQSClient|OpenAI|AzureOpenAI)\(/.test(readFileSync(join(ROOT, file), 'utf8')),
    );
    expect(constructing.sort()).toEqual(
      [
        // Required by `runtime-adapters.ts` at first use only (a module of their own keeps them out of the cold start).
        'lambdas/adapters/aws/secrets-manager-client.ts',
        'lambdas/adapters/aws/sns-client.ts',
        'lambdas/adapters/aws/sqs-client.ts',
        'lambdas/adapters/providers/azure-openai/index.ts',
        'lambdas/adapters/providers/openai-compatible/instance.ts',
        'lambdas/adapters/providers/openai/index.ts',
        'lambdas/local/local-gateway.ts',
        'lambdas/shared/runtime-adapters.ts',
      ].sort(),
    );
  });

  it('keeps the HTTP layer off the adapters', () => {
    const offending = sources('lambdas/http').flatMap((file) =>
      imports(file)
        .filter((spec) => spec.includes('/adapters/'))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
