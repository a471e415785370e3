import type { Plan } from '../../src/core/spec/plan.js';

/**
 * The exact commands of the operator actions a failure hint asks for, on AWS (the AWS CLI) and in local mode
 * (`capi-deploy terminate`, which does the same against the simulated account). A handler cannot tell which mode
 * it runs in, so a hint names both. Each action removes a stuck resource so that re-running create makes a new
 * one; the README's troubleshooting table lists the same commands.
 */

const localTerminate = (plan: Plan, targets: string[]) =>
  `\`capi-deploy terminate ${plan.deployment} ${targets.join(' ')} --local\``;

/** Terminate instances and wait until they are gone: `<aws commands>; in local mode: <capi-deploy command>`. */
export function terminateNodesCommands(
  plan: Plan,
  nodes: { nickname: string; instanceId?: string | null }[],
): string {
  const ids = nodes.flatMap((node) => (node.instanceId ? [node.instanceId] : [])).join(' ');
  const region = `--region ${plan.region}`;
  const aws = ids
    ? `on AWS \`aws ec2 terminate-instances ${region} --instance-ids ${ids}\` then \`aws ec2 wait instance-terminated ${region} --instance-ids ${ids}\``
    : 'on AWS `aws ec2 terminate-instances` with their instance ids';
  return `${aws}; in local mode ${localTerminate(
    plan,
    nodes.map((node) => node.nickname),
  )}`;
}

/** Delete the whole deployment, to create it again from scratch. */
export const deleteDeploymentCommand = (plan: Plan) =>
  `\`capi-deploy delete ${plan.deployment}\`, or in local mode \`capi-deploy delete ${plan.deployment} --local\``;

/** Delete a NAT gateway and wait until it is deleted (its elastic IP is free only then). */
export function deleteNatGatewayCommands(plan: Plan, natGatewayId: string): string {
  const region = `--region ${plan.region}`;
  return `on AWS \`aws ec2 delete-nat-gateway ${region} --nat-gateway-id ${natGatewayId}\` then \`aws ec2 wait nat-gateway-deleted ${region} --nat-gateway-ids ${natGatewayId}\`; in local mode ${localTerminate(plan, ['natgw'])}`;
}

/** Delete the instance profile (role out first, as IAM requires); create makes a new one with the role. */
export function recreateInstanceProfileCommands(plan: Plan): string {
  const profile = plan.names.instanceProfile;
  return `on AWS \`aws iam remove-role-from-instance-profile --instance-profile-name ${profile} --role-name ${plan.names.instanceRole}\` then \`aws iam delete-instance-profile --instance-profile-name ${profile}\`; in local mode ${localTerminate(plan, ['instance-profile'])}`;
}
