import { randomBytes } from 'node:crypto';
import {
  DeleteParametersCommand,
  GetParametersByPathCommand,
  ParameterType,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import type { Plan } from '../../src/core/spec/plan.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';

/** The secrets of a deployment, relative to its SSM path. Instances read them with their own role at run time. */
export const SECRET_NAMES = [
  'rabbitmq/admin-password',
  'rabbitmq/user-password',
  'cassandra/password',
] as const;

export const secretParameterName = (plan: Plan, secret: string) => `${plan.names.secretsPath}${secret}`;

/** 32 random bytes, URL-safe: no shell, YAML or URL metacharacters in generated passwords. */
const generatePassword = () => randomBytes(32).toString('base64url');

async function existingParameterNames({ plan, clients }: DeploymentContext): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall({ resource: `secrets under ${plan.names.secretsPath}` }, () =>
      clients.ssm.send(
        new GetParametersByPathCommand({ Path: plan.names.secretsPath, Recursive: true, NextToken: token }),
      ),
    );
    names.push(...(page.Parameters ?? []).map((parameter) => parameter.Name!));
    token = page.NextToken;
  } while (token);
  return names;
}

/**
 * Generates each missing secret and stores it as a SecureString (never overwriting one that exists, so a re-run
 * keeps the passwords the nodes already use). Returns parameter names only: values never enter the execution.
 */
export async function ensureSecrets(
  ctx: DeploymentContext,
): Promise<{ parameters: string[]; created: number }> {
  const { plan, clients } = ctx;
  const existing = new Set(await existingParameterNames(ctx));
  const parameters = SECRET_NAMES.map((secret) => secretParameterName(plan, secret));
  let created = 0;
  for (const name of parameters.filter((candidate) => !existing.has(candidate))) {
    await awsCall({ resource: `secret ${name}` }, () =>
      clients.ssm.send(
        new PutParameterCommand({
          Name: name,
          Type: ParameterType.SECURE_STRING,
          Value: generatePassword(),
          Description: `capideploy ${plan.deployment}: generated, read by the instances at run time`,
          Tags: Object.entries({ Name: name, ...plan.tagsBase }).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
    created += 1;
  }
  return { parameters, created };
}

/** Deletes every parameter under the deployment's path. */
export async function deleteSecrets(ctx: DeploymentContext): Promise<{ deleted: string[] }> {
  const names = await existingParameterNames(ctx);
  for (let i = 0; i < names.length; i += 10) {
    const batch = names.slice(i, i + 10);
    await awsCall({ resource: `secrets under ${ctx.plan.names.secretsPath}` }, () =>
      ctx.clients.ssm.send(new DeleteParametersCommand({ Names: batch })),
    );
  }
  return { deleted: names };
}
