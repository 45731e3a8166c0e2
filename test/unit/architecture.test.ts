/** The layering the project relies on, checked on the source so it cannot drift silently. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('architecture', () => {
  it('keeps lambdas/core pure: no AWS SDK, openai, Powertools, HTTP framework or adapter imports', () => {
    const offending = sources('lambdas/core').flatMap((file) =>
      imports(file)
        .filter((spec) => /^(@aws-sdk|@smithy|openai|@aws-lambda-powertools|hono|@hono|undici|dynalite)/.test(spec) || /\/(adapters|http|shared|local|handlers)\//.test(spec))
        .map((spec) => `${relative(ROOT, join(ROOT, file))} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('builds SDK clients only in the composition root, the local runner and the provider directory (which rebuilds them on key rotation)', () => {
    const constructing = sources('lambdas').filter((file) => /new (DynamoDBClient|SecretsManagerClient|OpenAI|AzureOpenAI)\(/.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(constructing.sort()).toEqual(
      ['lambdas/adapters/providers/sdk-provider-directory.ts', 'lambdas/local/local-gateway.ts', 'lambdas/shared/container.ts'].sort(),
    );
  });

  it('keeps the HTTP layer off the adapters', () => {
    const offending = sources('lambdas/http').flatMap((file) => imports(file).filter((spec) => spec.includes('/adapters/')).map((spec) => `${file} imports ${spec}`));
    expect(offending).toEqual([]);
  });
});
