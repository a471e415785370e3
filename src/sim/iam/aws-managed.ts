import { SSM_MANAGED_INSTANCE_CORE } from '../../core/permissions.js';

/**
 * The AWS managed policies our roles attach, as AWS publishes them (the simulated IAM stores only customer managed
 * policies). Keyed by ARN with `{partition}`.
 */
export const AWS_MANAGED_POLICIES: Record<string, string> = {
  'arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore': JSON.stringify({
    Version: '2012-10-17',
    Statement: SSM_MANAGED_INSTANCE_CORE,
  }),
};
