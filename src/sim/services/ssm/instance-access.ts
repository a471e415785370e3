import { authorizeCall, rolePrincipal } from '../../iam/authorizer.js';
import type { Ctx, Ec2Instance, SsmInvocation } from './state.js';

/**
 * What a document's scripts do on the node with the instance's own role (provisioning-docs/scripts): the SecureStrings
 * each reads with `read_secret` (`read_data_secrets` reads the Cassandra and AMQP passwords), under
 * /capideploy/<deployment>/.
 */
const DATA_SECRETS = ['cassandra/password', 'rabbitmq/user-password'];
export const DOCUMENT_SECRETS: Readonly<Record<string, readonly string[]>> = {
  'capi-cassandra-configure': ['cassandra/password'],
  'capi-rabbitmq-configure': ['rabbitmq/admin-password', 'rabbitmq/user-password'],
  'capi-daemon-configure': DATA_SECRETS,
  'capi-bastion-configure': DATA_SECRETS,
};

interface IamView {
  instanceProfiles: Record<string, { Arn: string; Roles: string[] }>;
  roles: Record<string, { Arn: string }>;
}

/**
 * Authorizes, as the instance's role (its inline and managed policies within its permissions boundary), the secret
 * reads the document makes on this node; a denial fails the run as `read_secret` does, with AWS's message. Nothing
 * when IAM evaluation is off.
 */
export async function instanceDenial(
  ctx: Ctx,
  instance: Ec2Instance,
  document: string,
): Promise<SsmInvocation['fault'] | undefined> {
  const secrets = DOCUMENT_SECRETS[document] ?? [];
  if (!ctx.account.iamEvaluation || secrets.length === 0) return undefined;
  const deployment = instance.Tags.find((tag) => tag.Key === 'DeploymentName')?.Value ?? '';
  const iam = ctx.account.stateOf<IamView>('IAM');
  const profile = iam.instanceProfiles?.[String(instance.IamInstanceProfile?.Arn.split('/').pop())];
  const role = profile && iam.roles?.[profile.Roles[0]];
  const roleArn = role?.Arn ?? `arn:aws:iam::${ctx.caller.accountId}:role/none`;
  const principal = rolePrincipal(
    iam as never,
    roleArn,
    `arn:aws:sts::${ctx.caller.accountId}:assumed-role/${roleArn.split('/').pop()}/${instance.InstanceId}`,
  );
  for (const secret of secrets) {
    const name = `/capideploy/${deployment}/${secret}`;
    try {
      await authorizeCall(
        {
          service: 'SSM',
          operation: 'GetParameter',
          input: { Name: name, WithDecryption: true },
          region: ctx.region,
          account: ctx.caller.accountId,
          state: (service) => ctx.account.stateOf(service),
        },
        principal,
      );
    } catch (error) {
      return {
        status: 'Failed',
        exitCode: 1,
        stderr: `${(error as Error).name}: ${(error as Error).message}\ncannot read ${name} from Parameter Store (check the instance role)`,
      };
    }
  }
  return undefined;
}
