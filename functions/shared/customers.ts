import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { type CustomerPair, customerParameterName, parseCustomerValue } from '../../src/core/customers.js';
import { UnknownCustomer } from '../../src/core/errors.js';
import { asDeploymentError } from './aws-errors.js';
import { clientsFor } from './clients.js';
import { lambdaEnvironment } from './environment.js';

/**
 * The Lambdas' read of the customers registry (src/core/customers.ts): a spec's `customer` name → the role ARN and
 * external id, from the SecureString `/capideploy/customers/<name>` in the operator account, read with the function's
 * own role (`ssm:GetParameter` on that path only). The pair stays in memory: it is never returned, logged or put in a
 * failure cause.
 */

/** How long a warm container trusts a pair it read: a replaced entry (`customers add --replace`) is seen after this. */
const CACHE_MS = 5 * 60_000;

interface RegistrySettings {
  /** The operator account's registry region: the stack's. In Lambda, AWS_REGION (environment.ts); locally, the stack region. */
  region?: string;
}

let settings: RegistrySettings = {};
const cache = new Map<string, { pair: Promise<CustomerPair>; at: number }>();

/** Where the registry is (handlers: their AWS_REGION; local mode and the CLI: the stack region). Clears the cache. */
export function configureCustomerRegistry(next: RegistrySettings): void {
  settings = next;
  cache.clear();
}

const HINT =
  'Register the customer in the operator account with "capi-deploy customers add <name> --role-arn <arn>" (external id on standard input), or fix "customer" in the spec; nothing was created.';

async function readCustomer(name: string): Promise<CustomerPair> {
  const parameter = customerParameterName(name);
  // In Lambda, the function's own region (the stack's); local mode and the CLI configure theirs.
  const region = settings.region ?? lambdaEnvironment.AWS_REGION;
  if (!region)
    throw new Error('Region is missing: the region of the customers registry (the stack region) is not set');
  const base = await clientsFor(region);
  let value: string | undefined;
  try {
    const answer = await base.ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    value = answer.Parameter?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') {
      throw new UnknownCustomer({
        resource: `customer ${name}`,
        id: parameter,
        awsError: 'ParameterNotFound',
        message: `no customer named ${name} is registered in the operator account (${region})`,
        hint: HINT,
      });
    }
    // Throttling and server errors stay retryable (Throttled, ServiceUnavailable); the message has no value in it.
    throw asDeploymentError(error, { resource: `customer ${name}`, id: parameter });
  }
  const pair = parseCustomerValue(value);
  if (!pair) {
    throw new UnknownCustomer({
      resource: `customer ${name}`,
      id: parameter,
      message: `the registry entry of customer ${name} is not a role ARN and external id`,
      hint: 'Register the customer again with "capi-deploy customers add <name> --role-arn <arn> --replace" (external id on standard input).',
    });
  }
  return pair;
}

/** The role and external id of a registered customer; UnknownCustomer when the registry has no such entry. */
export async function resolveCustomer(name: string): Promise<CustomerPair> {
  const now = Date.now();
  const cached = cache.get(name);
  if (cached && now - cached.at < CACHE_MS) return cached.pair;
  const pair = readCustomer(name);
  cache.set(name, { pair, at: now });
  // A failed read is not cached: the next call (a retry, a registration meanwhile) reads again.
  pair.catch(() => {
    if (cache.get(name)?.pair === pair) cache.delete(name);
  });
  return pair;
}
