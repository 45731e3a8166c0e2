/**
 * Deployment mode for steady traffic: the gateway function on Lambda Managed Instances. Execution
 * environments run on EC2 capacity in this stack's VPC and serve many requests at once, so the time a
 * request waits for its provider is not billed per request (on-demand Lambda bills it as duration).
 * Private subnets with a NAT gateway for the providers' HTTPS endpoints and the AWS APIs, a gateway
 * endpoint for DynamoDB (free, and the busiest dependency), VPC flow logs, and a security group that
 * allows HTTPS out and nothing in.
 */
import { Validations } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InstanceClass,
  InstanceSize,
  InstanceType,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Architecture, CapacityProvider, InstanceTypeFilter, ScalingOptions } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface ManagedInstancesSettings {
  /**
   * Requests one execution environment serves at once. The gateway mostly waits on providers (about
   * 3 ms of CPU per request, measured by the bench), so a 1-vCPU environment keeps up with far more.
   * @default 64
   */
  readonly perEnvironmentConcurrency?: number;
  /** @default 3 (the service's own minimum, spread over availability zones) */
  readonly minEnvironments?: number;
  /** @default 20 */
  readonly maxEnvironments?: number;
  /** Ceiling of the capacity provider's fleet. @default 64 */
  readonly maxVCpus?: number;
  /**
   * Instance types the fleet may use (the README's costs assume m7g.large).
   * @default m7g.large (Graviton3, 2 vCPU, 8 GiB)
   */
  readonly instanceTypes?: InstanceType[];
}

export interface ManagedInstancesProps extends ManagedInstancesSettings {
  readonly namePrefix: string;
  readonly gatewayFunction: NodejsFunction;
  readonly logRetention: RetentionDays;
}

export class ManagedInstances extends Construct {
  readonly vpc: Vpc;
  readonly securityGroup: SecurityGroup;
  readonly capacityProvider: CapacityProvider;

  constructor(scope: Construct, id: string, props: ManagedInstancesProps) {
    super(scope, id);
    const flowLogs = new LogGroup(this, 'FlowLogs', { retention: props.logRetention });
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'compute', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: { all: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL } },
    });
    // Every request reads and writes DynamoDB: through a gateway endpoint, not the NAT (no per-GB charge).
    this.vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    this.securityGroup = new SecurityGroup(this, 'Instances', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'Hybrid Orchestrator gateway instances: HTTPS out (AI providers, AWS APIs), nothing in',
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to the AI providers and AWS APIs');

    this.capacityProvider = new CapacityProvider(this, 'Capacity', {
      capacityProviderName: `${props.namePrefix}-gateway`,
      subnets: this.vpc.privateSubnets,
      securityGroups: [this.securityGroup],
      architectures: [Architecture.ARM_64],
      instanceTypeFilter: InstanceTypeFilter.allow(props.instanceTypes ?? [InstanceType.of(InstanceClass.M7G, InstanceSize.LARGE)]),
      maxVCpuCount: props.maxVCpus ?? 64,
      scalingOptions: ScalingOptions.auto(),
    });
    Validations.of(this.capacityProvider).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator]',
      reason:
        'The operator role Lambda assumes to launch and retire the capacity provider instances uses the AWS-managed policy made for exactly that role; AWS keeps it in step with the service.',
    });
    this.capacityProvider.addFunction(props.gatewayFunction, {
      // API Gateway invokes the unqualified function, which on a capacity provider runs $LATEST.PUBLISHED:
      // every deploy must publish it, or traffic keeps running the old code.
      publishToLatestPublished: true,
      perExecutionEnvironmentMaxConcurrency: props.perEnvironmentConcurrency ?? 64,
      executionEnvironmentMemoryGiBPerVCpu: 2,
      latestPublishedScalingConfig: {
        minExecutionEnvironments: props.minEnvironments ?? 3,
        maxExecutionEnvironments: props.maxEnvironments ?? 20,
      },
    });
  }
}
