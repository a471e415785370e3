import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AccessDenied } from '../../src/core/errors.js';
import { observeCalls, traced } from './observability.js';

/** The AWS clients a handler may use; created lazily, one set per region and identity. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
  readonly ssm: SSMClient;
  readonly sts: STSClient;
  readonly quotas: ServiceQuotasClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
  /** CloudWatch Logs: the cluster's log group. */
  readonly logs: CloudWatchLogsClient;
}

export interface AssumeRoleTarget {
  roleArn: string;
  externalId: string;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials run out; the SDK asks its provider again shortly before. */
  expiration?: Date;
}

/** A source of credentials the SDK calls when it has none or they are about to expire. */
type CredentialsProvider = () => Promise<Credentials>;

/** Assumed-role credentials are renewed this long before they expire (the SDK's own refresh window too). */
const REFRESH_BEFORE_MS = 5 * 60_000;

/** Called on every new client; the local engine uses it to put the simulated account under the SDK. */
type ClientCustomizer = (
  client:
    | EC2Client
    | IAMClient
    | SSMClient
    | STSClient
    | ServiceQuotasClient
    | ResourceGroupsTaggingAPIClient
    | CloudWatchLogsClient,
) => void;

interface ClientSettings {
  customize?: ClientCustomizer;
  /** Base credentials; in Lambda the default provider chain (the function's role) is used. */
  credentials?: Credentials;
  maxAttempts?: number;
  /**
   * Local mode runs every function in one process: the caller's function, so each keeps its own clients and its own
   * assumed-role session as on Lambda (and the simulator authorizes each as its own role).
   */
  scope?: () => string;
}

let settings: ClientSettings = {};
const cache = new Map<string, AwsClients>();

/** Local mode and tests only: wire every client created from now on. Clears cached clients. */
export function configureClients(next: ClientSettings): void {
  settings = next;
  cache.clear();
}

function buildClients(region: string, credentials?: Credentials | CredentialsProvider): AwsClients {
  const config = { region, credentials, maxAttempts: settings.maxAttempts ?? 5 };
  const made = new Map<string, unknown>();
  const lazy = <T>(key: string, create: () => T): T => {
    if (!made.has(key)) {
      // X-Ray captures its calls on Lambda (tracing on); every attempt is counted for the EMF metrics.
      const client = traced(create());
      observeCalls(client as never);
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
    get logs() {
      return lazy('logs', () => new CloudWatchLogsClient(config));
    },
  };
}

const ASSUME_HINT =
  'Check that the role trusts the operator account with this external id (see README, cross-account mode).';

async function assumeRole(base: AwsClients, target: AssumeRoleTarget): Promise<Credentials> {
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
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  } catch (error) {
    const e = error as Error;
    // STS echoes a malformed ExternalId in its validation message: the cause (history, logs) must never hold it.
    const message = String(e.message ?? '')
      .split(target.externalId)
      .join('<external id>');
    throw new AccessDenied(
      {
        resource: `role ${target.roleArn}`,
        id: target.roleArn,
        awsError: e.name,
        message,
        hint: ASSUME_HINT,
      },
      // Not the SDK error itself as the cause: its message may hold the external id (see above).
      { cause: new Error(message) },
    );
  }
}

/**
 * Credentials of the assumed role, shared by every client of the set: assumed once, then assumed again when less
 * than {@link REFRESH_BEFORE_MS} of their hour is left, so a warm Lambda keeps working past the first hour.
 * Concurrent callers during a renewal share one AssumeRole call.
 */
function renewingCredentials(base: AwsClients, target: AssumeRoleTarget): CredentialsProvider {
  let current: Credentials | undefined;
  let renewing: Promise<Credentials> | undefined;
  const fresh = (credentials: Credentials) =>
    !credentials.expiration || credentials.expiration.getTime() - Date.now() > REFRESH_BEFORE_MS;
  return async () => {
    if (current && fresh(current)) return current;
    renewing ??= assumeRole(base, target)
      .then((credentials) => {
        current = credentials;
        return credentials;
      })
      .finally(() => {
        renewing = undefined;
      });
    return renewing;
  };
}

/**
 * Assumes the customer's role with its external id and checks that the identity really changed
 * (the seed's SaaS mode). Credentials last an hour and are renewed before they expire (see renewingCredentials).
 */
async function assumedClients(
  region: string,
  base: AwsClients,
  target: AssumeRoleTarget,
): Promise<AwsClients> {
  const credentials = renewingCredentials(base, target);
  // Assume now, so a refused AssumeRole fails here as AccessDenied rather than inside the first AWS call.
  await credentials();
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
      hint: ASSUME_HINT,
    });
  }
  return clients;
}

/** The clients for a deployment: its region, under the assumed role when the spec asks for one. */
export async function clientsFor(region: string, assumeRole?: AssumeRoleTarget): Promise<AwsClients> {
  const key = `${settings.scope?.() ?? ''}|${region}|${assumeRole?.roleArn ?? ''}|${assumeRole?.externalId ?? ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const base = buildClients(region, settings.credentials);
  const clients = assumeRole ? await assumedClients(region, base, assumeRole) : base;
  cache.set(key, clients);
  return clients;
}
