import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  ParameterType,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import {
  CUSTOMERS_PATH,
  type CustomerEntry,
  type CustomerPair,
  customerNameProblem,
  customerOfParameter,
  customerParameterName,
  customerValue,
  externalIdProblem,
  parseCustomerValue,
  roleArnProblem,
} from './customers.js';

/**
 * The administrators' side of the customers registry (src/core/customers.ts): add, list and remove entries over an
 * SSM client of the operator account in the stack's region. The CLI (`capi-deploy customers ...`, AWS and local mode)
 * and the API (`/customers`) both call these. The Lambdas never do: they only read one entry
 * (functions/shared/customers.ts), so their roles get `ssm:GetParameter` and nothing that writes.
 *
 * Nothing here returns or throws the external id: `list` gives names and role ARNs, errors name the field.
 */

/** A request the registry refuses: bad name, ARN or external id, a name taken, an unknown customer. */
export class CustomerRegistryProblem extends Error {
  override readonly name = 'CustomerRegistryProblem';
  constructor(
    message: string,
    /** `bad-input` (400 / exit 2), `exists` (409), `not-found` (404). */
    readonly kind: 'bad-input' | 'exists' | 'not-found',
  ) {
    super(message);
  }
}

/** One line per bad field of an `add`, or [] when the request is valid. */
export function customerProblems(name: string, pair: Partial<CustomerPair>): string[] {
  const problems: string[] = [];
  const nameProblem = customerNameProblem(name);
  if (nameProblem) problems.push(`name: ${nameProblem}`);
  const arnProblem = typeof pair.roleArn === 'string' ? roleArnProblem(pair.roleArn) : 'is required';
  if (arnProblem) problems.push(`roleArn: ${arnProblem}`);
  const idProblem = typeof pair.externalId === 'string' ? externalIdProblem(pair.externalId) : 'is required';
  if (idProblem) problems.push(`externalId: ${idProblem}`);
  return problems;
}

/**
 * Registers a customer: one SecureString (the account's default key, `alias/aws/ssm`). An existing name is refused
 * (`exists`) unless `replace` is true, so a typo never overwrites another customer's pair silently; with `replace`,
 * the entry is overwritten (PutParameter Overwrite) and warm Lambdas pick the new pair up within their cache time.
 * Returns whether an entry was replaced.
 */
export async function addCustomer(
  ssm: SSMClient,
  name: string,
  pair: CustomerPair,
  options: { replace?: boolean } = {},
): Promise<{ replaced: boolean }> {
  const problems = customerProblems(name, pair);
  if (problems.length > 0) throw new CustomerRegistryProblem(problems.join('; '), 'bad-input');
  const existing = await listCustomers(ssm);
  const replaced = existing.some((entry) => entry.name === name);
  if (replaced && !options.replace) {
    throw new CustomerRegistryProblem(
      `customer ${name} is already registered (role ${existing.find((entry) => entry.name === name)!.roleArn}); add --replace to overwrite it`,
      'exists',
    );
  }
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: customerParameterName(name),
        Type: ParameterType.SECURE_STRING,
        Value: customerValue(pair),
        Description: `capideploy customer ${name}: role to assume and external id`,
        Overwrite: replaced,
      }),
    );
  } catch (error) {
    // Registered meanwhile by someone else: the same refusal as above.
    if ((error as Error).name === 'ParameterAlreadyExists') {
      throw new CustomerRegistryProblem(
        `customer ${name} is already registered; add --replace to overwrite it`,
        'exists',
      );
    }
    throw error;
  }
  return { replaced };
}

/**
 * Every registered customer, by name, with its role ARN; entries that do not parse are listed with an empty role ARN
 * so they can be removed. The values are decrypted (the role ARN is inside the SecureString) but the external id
 * never leaves this function.
 */
export async function listCustomers(ssm: SSMClient): Promise<CustomerEntry[]> {
  const entries: CustomerEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(
      new GetParametersByPathCommand({ Path: CUSTOMERS_PATH, WithDecryption: true, NextToken }),
    );
    for (const parameter of page.Parameters ?? []) {
      const name = customerOfParameter(parameter.Name ?? '');
      if (!name) continue;
      entries.push({ name, roleArn: parseCustomerValue(parameter.Value)?.roleArn ?? '' });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes a customer's entry; `not-found` when there is none. Deployments of the customer then fail at preflight. */
export async function removeCustomer(ssm: SSMClient, name: string): Promise<void> {
  const problem = customerNameProblem(name);
  if (problem) throw new CustomerRegistryProblem(`name: ${problem}`, 'bad-input');
  try {
    await ssm.send(new DeleteParameterCommand({ Name: customerParameterName(name) }));
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') {
      throw new CustomerRegistryProblem(`name: no customer named ${name} is registered`, 'not-found');
    }
    throw error;
  }
}
