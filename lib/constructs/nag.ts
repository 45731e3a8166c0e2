/** cdk-nag acknowledgements that name a resource the way cdk-nag's findings name it. */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges AwsSolutions-IAM5 (a wildcard) on `resource`, an ARN built from the stack's partition,
 * region and account. cdk-nag names an unresolved one by its pseudo parameter (`<AWS::Region>`) and a
 * concrete one as it is; the partition is concrete once the region is (cdk.json's
 * `enablePartitionLiterals`), so the acknowledgement must follow the stack, not assume a token.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const { partition, region, account } = Stack.of(scope);
  let shown = resource;
  for (const [value, pseudo] of [
    [partition, '<AWS::Partition>'],
    [region, '<AWS::Region>'],
    [account, '<AWS::AccountId>'],
  ] as const) {
    if (Token.isUnresolved(value)) shown = shown.split(value).join(pseudo);
  }
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${shown}]`, reason });
}
