import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  DetachInternetGatewayCommand,
} from '@aws-sdk/client-ec2';
import { ResourceConflict } from '../../src/core/errors.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { deleteDeploymentCommand } from '../shared/remedies.js';

/** Finds or creates the internet gateway and makes sure it is attached to the deployment's VPC. */
export async function ensureInternetGateway(
  { plan, clients }: DeploymentContext,
  vpcId: string,
): Promise<{ internetGatewayId: string }> {
  const name = plan.names.internetGateway;
  const site = { resource: `internet gateway ${name}` };
  const found = await awsCall(site, () =>
    clients.ec2.send(new DescribeInternetGatewaysCommand({ Filters: deploymentFilters(plan, { name }) })),
  );
  let gateway = found.InternetGateways?.[0];
  if (!gateway) {
    const created = await awsCall(site, () =>
      clients.ec2.send(
        new CreateInternetGatewayCommand({
          TagSpecifications: tagSpecifications(plan, 'internet-gateway', name),
        }),
      ),
    );
    gateway = created.InternetGateway!;
  }
  const internetGatewayId = gateway.InternetGatewayId!;
  // AWS reports an attached gateway as 'available' as often as 'attached' (capideploy-spec §7.2): any state counts.
  const attachedTo = gateway.Attachments?.find((attachment) => attachment.State !== 'detached')?.VpcId;
  if (attachedTo && attachedTo !== vpcId) {
    throw new ResourceConflict({
      resource: `internet gateway ${name}`,
      id: internetGatewayId,
      message: `the gateway is attached to ${attachedTo}, not to the deployment's VPC ${vpcId}`,
      hint: `Detach it from the other VPC (\`aws ec2 detach-internet-gateway --region ${plan.region} --internet-gateway-id ${internetGatewayId} --vpc-id ${attachedTo}\`) and re-run create, or delete the deployment (${deleteDeploymentCommand(plan)}) and create it again.`,
    });
  }
  if (!attachedTo) {
    await awsCall({ ...site, id: internetGatewayId }, () =>
      clients.ec2.send(
        new AttachInternetGatewayCommand({ InternetGatewayId: internetGatewayId, VpcId: vpcId }),
      ),
    );
  }
  return { internetGatewayId };
}

/**
 * Detaches and deletes every internet gateway of the deployment. While a NAT gateway or an elastic IP is still
 * mapped in the VPC, AWS refuses the detach with DependencyViolation, which the ASL retries.
 */
export async function deleteInternetGateways({
  plan,
  clients,
}: DeploymentContext): Promise<{ deleted: string[] }> {
  const found = await awsCall({ resource: `internet gateways of ${plan.deployment}` }, () =>
    clients.ec2.send(new DescribeInternetGatewaysCommand({ Filters: deploymentFilters(plan) })),
  );
  const deleted: string[] = [];
  for (const gateway of found.InternetGateways ?? []) {
    const id = gateway.InternetGatewayId!;
    const site = { resource: `internet gateway ${plan.names.internetGateway}`, id };
    for (const attachment of gateway.Attachments ?? []) {
      await deleteIfPresent(site, () =>
        clients.ec2
          .send(new DetachInternetGatewayCommand({ InternetGatewayId: id, VpcId: attachment.VpcId }))
          .catch((error: Error) => {
            if (error.name !== 'Gateway.NotAttached') throw error;
          }),
      );
    }
    await deleteIfPresent(site, () =>
      clients.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: id })),
    );
    deleted.push(id);
  }
  return { deleted };
}
