import type { OperationContext, ServiceSimulator, SimulatedAccount } from '../account.js';
import { modeledError } from './iam.js';

/** EC2's "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" quota, counted in vCPUs. */
export const VCPU_QUOTA_CODE = 'L-1216C47A';
export const DEFAULT_VCPU_QUOTA = 1152;

/** The Service Quotas slice of the account state: applied quota values by `<ServiceCode>/<QuotaCode>`. */
export interface QuotasState {
  values: Record<string, number>;
}

const vcpuKey = `ec2/${VCPU_QUOTA_CODE}`;

/** Sets the account's vCPU quota for standard On-Demand instances (tests, and the EC2 simulator's limit). */
export function setVcpuQuota(account: SimulatedAccount, vcpus: number): void {
  const state = account.stateOf<QuotasState>('ServiceQuotas');
  state.values ??= {};
  state.values[vcpuKey] = vcpus;
}

/** The account's vCPU quota for standard On-Demand instances. */
export function vcpuQuota(account: SimulatedAccount): number {
  return account.stateOf<QuotasState>('ServiceQuotas').values?.[vcpuKey] ?? DEFAULT_VCPU_QUOTA;
}

const KNOWN_QUOTAS: Record<string, { serviceName: string; quotaName: string; unit: string }> = {
  [vcpuKey]: {
    serviceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
    quotaName: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
    unit: 'None',
  },
};

function getServiceQuota(ctx: OperationContext<QuotasState>, input: any) {
  const serviceCode = String(input.ServiceCode ?? '');
  const quotaCode = String(input.QuotaCode ?? '');
  const key = `${serviceCode}/${quotaCode}`;
  const known = KNOWN_QUOTAS[key];
  if (!known) {
    const what = Object.keys(KNOWN_QUOTAS).some((k) => k.startsWith(`${serviceCode}/`)) ? 'quota' : 'service';
    throw modeledError(
      'NoSuchResourceException',
      `The request failed because the specified ${what} does not exist.`,
    );
  }
  return {
    Quota: {
      ServiceCode: serviceCode,
      ServiceName: known.serviceName,
      QuotaArn: `arn:aws:servicequotas:${ctx.region}:${ctx.caller.accountId}:${serviceCode}/${quotaCode}`,
      QuotaCode: quotaCode,
      QuotaName: known.quotaName,
      Value: ctx.state.values?.[key] ?? DEFAULT_VCPU_QUOTA,
      Unit: known.unit,
      Adjustable: true,
      GlobalQuota: false,
      UsageMetric: {
        MetricNamespace: 'AWS/Usage',
        MetricName: 'ResourceCount',
        MetricDimensions: { Class: 'Standard/OnDemand', Resource: 'vCPU', Service: 'EC2', Type: 'Resource' },
        MetricStatisticRecommendation: 'Maximum',
      },
      QuotaAppliedAtLevel: 'ACCOUNT',
    },
  };
}

/** Service Quotas: GetServiceQuota for the EC2 vCPU quota the fleet is checked against. */
export const quotasSimulator: ServiceSimulator<QuotasState> = {
  name: 'ServiceQuotas',
  initialState: () => ({ values: { [vcpuKey]: DEFAULT_VCPU_QUOTA } }),
  operations: { GetServiceQuota: getServiceQuota },
};
