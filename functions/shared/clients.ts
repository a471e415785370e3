import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AccessDenied } from './errors.js';

/** The AWS clients a handler may use; created lazily, one set per region and identity. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
  readonly ssm: SSMClient;
  readonly sts: STSClient;
  readonly quotas: ServiceQuotasClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
}

export interface AssumeRoleTarget {
  roleArn: string;
  externalId: string;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Called on every new client; the local engine uses it to put the simulated account under the SDK. */
type ClientCustomizer = (
  client:
    | EC2Client
    | IAMClient
    | SSMClient
    | STSClient
    | ServiceQuotasClient
    | ResourceGroupsTaggingAPIClient,
) => void;

interface ClientSettings {
  customize?: ClientCustomizer;
  /** Base credentials; in Lambda the default provider chain (the function's role) is used. */
  credentials?: Credentials;
  maxAttempts?: number;
}

let settings: ClientSettings = {};
const cache = new Map<string, AwsClients>();

/** Local mode and tests only: wire every client created from now on. Clears cached clients. */
export function configureClients(next: ClientSettings): void {
  settings = next;
  cache.clear();
}

function buildClients(region: string, credentials?: Credentials): AwsClients {
  const config = { region, credentials, maxAttempts: settings.maxAttempts ?? 5 };
  const made = new Map<string, unknown>();
  const lazy = <T>(key: string, create: () => T): T => {
    if (!made.has(key)) {
      const client = create();
      settings.customize?.(client as never);
      made.set(key, client);
    }
    return made.get(key) as T;
  };
  return {
    get ec2() {
      return lazy('ec2', () => new EC2Client(config));
    },
    get iam() {
      return lazy('iam', () => new IAMClient(config));
    },
    get ssm() {
      return lazy('ssm', () => new SSMClient(config));
    },
    get sts() {
      return lazy('sts', () => new STSClient(config));
    },
    get quotas() {
      return lazy('quotas', () => new ServiceQuotasClient(config));
    },
    get tagging() {
      return lazy('tagging', () => new ResourceGroupsTaggingAPIClient(config));
    },
  };
}

/**
 * Assumes the customer's role with its external id and checks that the identity really changed
 * (the seed's SaaS mode). Credentials last an hour; cached clients are renewed before that.
 */
async function assumedClients(
  region: string,
  base: AwsClients,
  target: AssumeRoleTarget,
): Promise<AwsClients> {
  const hint =
    'Check that the role trusts the operator account with this external id (see README, cross-account mode).';
  let credentials: Credentials;
  try {
    const assumed = await base.sts.send(
      new AssumeRoleCommand({
        RoleArn: target.roleArn,
        ExternalId: target.externalId,
        RoleSessionName: 'capideploy',
        DurationSeconds: 3600,
      }),
    );
    const c = assumed.Credentials!;
    credentials = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken,
    };
  } catch (error) {
    const e = error as Error;
    throw new AccessDenied(
      { resource: `role ${target.roleArn}`, id: target.roleArn, awsError: e.name, message: e.message, hint },
      { cause: error },
    );
  }
  const clients = buildClients(region, credentials);
  const [before, after] = await Promise.all([
    base.sts.send(new GetCallerIdentityCommand({})),
    clients.sts.send(new GetCallerIdentityCommand({})),
  ]);
  if (before.Arn === after.Arn) {
    throw new AccessDenied({
      resource: `role ${target.roleArn}`,
      id: target.roleArn,
      message: `AssumeRole returned credentials of the same identity ${before.Arn}`,
      hint,
    });
  }
  return clients;
}

/** The clients for a deployment: its region, under the assumed role when the spec asks for one. */
export async function clientsFor(region: string, assumeRole?: AssumeRoleTarget): Promise<AwsClients> {
  const key = `${region}|${assumeRole?.roleArn ?? ''}|${assumeRole?.externalId ?? ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const base = buildClients(region, settings.credentials);
  const clients = assumeRole ? await assumedClients(region, base, assumeRole) : base;
  cache.set(key, clients);
  return clients;
}
