/**
 * What a function needs to call Amazon Bedrock: `BEDROCK_REGION` (the stack's region) and IAM grants to
 * invoke exactly the models and inference profiles the route table names, Converse and ConverseStream
 * alike (`bedrock:InvokeModel`, `bedrock:InvokeModelWithResponseStream`). No key, no secret.
 *
 * A cross-region inference profile (`us.anthropic...`, `eu.`, `apac.`, `global.`...) needs the profile
 * in this region and the foundation model in every region the profile may route to, which AWS does not
 * list in advance: those model grants name the model and leave the region open.
 */
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { ProviderCatalog } from '../../lambdas/core/ai/route-table';
import { acknowledgeWildcardResource } from './nag';

/** Geography prefixes of Bedrock's cross-region inference profiles. */
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

/** The Bedrock ids (chat and embedding models, inference profiles, ARNs) a route-table entry sends, each once. */
export function bedrockModelIds(catalog: ProviderCatalog): string[] {
  return [...new Set([...catalog.models, ...(catalog.embeddingModels ?? [])].map((model) => catalog.deployments?.[model] ?? model))];
}

/** The resources to grant for those ids, and the ones among them whose region is left open. */
export function bedrockResources(stack: Stack, ids: readonly string[]): { resources: string[]; anyRegion: string[] } {
  const { partition, region, account } = stack;
  const resources = new Set<string>();
  const anyRegion = new Set<string>();
  for (const id of ids) {
    if (id.startsWith('arn:')) {
      resources.add(id);
      continue;
    }
    const profile = PROFILE_PREFIX.exec(id);
    if (profile) {
      resources.add(`arn:${partition}:bedrock:${region}:${account}:inference-profile/${id}`);
      const model = `arn:${partition}:bedrock:*::foundation-model/${profile[2]}`;
      resources.add(model);
      anyRegion.add(model);
    } else resources.add(`arn:${partition}:bedrock:${region}::foundation-model/${id}`);
  }
  return { resources: [...resources], anyRegion: [...anyRegion] };
}

/** Which regions a profile's geography prefix covers (`us.` profiles run from US regions only). */
const GEOGRAPHY: Record<string, RegExp> = {
  us: /^us-(east|west)-/,
  'us-gov': /^us-gov-/,
  eu: /^eu-/,
  apac: /^ap-/,
  jp: /^ap-northeast-[13]$/,
  au: /^ap-southeast-[24]$/,
  ca: /^ca-/,
};

/** A synth warning for a cross-region profile that the stack's (known) region cannot call. */
function warnOfForeignProfiles(stack: Stack, ids: readonly string[]): void {
  if (Token.isUnresolved(stack.region)) return;
  for (const id of ids) {
    const geography = PROFILE_PREFIX.exec(id)?.[1];
    const covers = geography ? GEOGRAPHY[geography] : undefined;
    if (covers && !covers.test(stack.region))
      Annotations.of(stack).addWarningV2(
        'hybrid-orchestrator:bedrock-profile-region',
        `Bedrock inference profile ${id} cannot be called from ${stack.region}: use the profile (eu., apac. ...) or model id for that region in config/routes.json (providers.bedrock.deployments).`,
      );
  }
}

/** Lets `role` invoke the route table's Bedrock models and profiles; the open-region model grants are acknowledged for cdk-nag. */
export function grantBedrock(role: IRole, catalog: ProviderCatalog): void {
  const stack = Stack.of(role);
  warnOfForeignProfiles(stack, bedrockModelIds(catalog));
  const { resources, anyRegion } = bedrockResources(stack, bedrockModelIds(catalog));
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'], resources }));
  for (const resource of anyRegion) {
    acknowledgeWildcardResource(
      role,
      resource,
      'A cross-region inference profile routes each call to the named foundation model in one of several regions that AWS chooses; ' +
        'the grant names the model and leaves only the region open, as the Bedrock documentation prescribes for inference profiles.',
    );
  }
}
