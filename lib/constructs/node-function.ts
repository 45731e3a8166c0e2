/**
 * The project's Lambda shape, shared by the gateway and the daily report: Node.js 22 on arm64,
 * bundled locally with esbuild (minified, source maps, AWS SDK included), its own log group with
 * retention, and its own role that may write only to that log group.
 */
import { Validations, type Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { aliasArgs, AWS_CLIENT_SIDE_FILES, LAMBDA_DEFINE, LAMBDA_MAIN_FIELDS, sideBundle } from '../bundling/bundling';

export const PROJECT_ROOT = join(__dirname, '..', '..');

export interface NodeFunctionProps {
  /** Handler file under lambdas/handlers/. */
  readonly handlerFile: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly retention: RetentionDays;
  readonly environment: Record<string, string>;
  readonly commandHooks?: ICommandHooks;
}

export function nodeFunction(scope: Construct, props: NodeFunctionProps): { function: NodejsFunction; role: Role; logGroup: LogGroup } {
  const logGroup = new LogGroup(scope, 'FunctionLogs', { retention: props.retention });
  const role = new Role(scope, 'FunctionRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: props.description });
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new NodejsFunction(scope, 'Function', {
    entry: join(PROJECT_ROOT, 'lambdas', 'handlers', props.handlerFile),
    handler: 'handler',
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    // No --enable-source-maps: it adds about a quarter to every cold start's module load (bench).
    // The maps ship in the asset; `npm run symbolicate` maps a logged stack trace back to the sources.
    environment: { SERVICE_NAME: 'hybrid-orchestrator', ...props.environment },
    bundling: {
      forceDockerBundling: false,
      minify: true,
      sourceMap: true,
      target: 'node22',
      format: OutputFormat.CJS,
      // Bundle the AWS SDK too: the versions pinned in package-lock.json are the ones tested.
      externalModules: [],
      mainFields: LAMBDA_MAIN_FIELDS,
      define: LAMBDA_DEFINE,
      // Lambda-only stand-ins: environment/container credentials only, no browser user-agent parser.
      esbuildArgs: aliasArgs(),
      // The SNS and SQS clients in files of their own (loaded at the first alert or spilled record), then
      // the function's own side files.
      commandHooks: {
        beforeBundling: (inputDir, outputDir) => props.commandHooks?.beforeBundling(inputDir, outputDir) ?? [],
        beforeInstall: (inputDir, outputDir) => props.commandHooks?.beforeInstall(inputDir, outputDir) ?? [],
        afterBundling: (inputDir, outputDir) => [
          ...AWS_CLIENT_SIDE_FILES.map(({ entry, file }) => sideBundle(inputDir, outputDir, entry, file)),
          ...(props.commandHooks?.afterBundling(inputDir, outputDir) ?? []),
        ],
      },
    },
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Node.js 22 is the runtime this code is built and tested for; upgrades go through the test suite first.',
  });
  return { function: fn, role, logGroup };
}
