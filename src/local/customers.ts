import { clientsFor } from '../../functions/shared/clients.js';
import {
  addCustomer,
  CustomerRegistryProblem,
  listCustomers,
  removeCustomer,
} from '../core/customer-registry.js';
import type { CustomerEntry, CustomerPair } from '../core/customers.js';
import { runInVirtualTime } from '../sim/clock.js';
import { customerRoleProblem, putCustomerRole, removeCustomerRole } from '../sim/customer-role.js';
import { useSimulatedAccount } from './engine.js';
import { type LocalSession, openLocalSession } from './local-mode.js';
import { checkStateDir, lockStateDir } from './store.js';

/**
 * The customers registry in local mode: the same registry calls as against AWS (src/core/customer-registry.ts), made
 * with the simulated operator's SSM client in the simulated stack region, plus what the customer would deploy in
 * their own account: `add` also creates the customer role in the simulated account (src/sim/customer-role.ts), so
 * SaaS mode runs offline end to end. `remove` deletes the entry and that role (a role the registry no longer names is
 * of no use offline; on AWS the customer's stack stays until the customer deletes it).
 *
 * `add` and `remove` change the account: they hold the state dir's lock, as create and delete do.
 */

/** Runs registry calls against the simulated operator account, in the account's virtual time. */
async function inAccount<T>(
  session: LocalSession,
  work: (ssm: ReturnType<typeof registrySsm>) => Promise<T>,
) {
  useSimulatedAccount(session.account);
  const { result, endMs } = await runInVirtualTime(Math.max(Date.now(), session.account.lastClock), () =>
    work(registrySsm(session)),
  );
  return { result, endMs };
}

const registrySsm = (session: LocalSession) =>
  clientsFor(session.account.region).then((clients) => clients.ssm);

/** Opens the state dir for writing under its lock, runs `work`, saves the account, and unlocks. */
async function writing<T>(stateDir: string, command: string, work: (session: LocalSession) => Promise<T>) {
  checkStateDir(stateDir, { create: true });
  const unlock = lockStateDir(stateDir, command);
  try {
    const session = openLocalSession(stateDir, { writable: true });
    const result = await work(session);
    session.account.close();
    return result;
  } finally {
    unlock();
  }
}

/** Registers a customer in the simulated operator account and creates its role in the simulated customer account. */
export async function addLocalCustomer(
  stateDir: string,
  name: string,
  pair: CustomerPair,
  options: { replace?: boolean } = {},
): Promise<{ replaced: boolean }> {
  return writing(stateDir, `customers add ${name}`, async (session) => {
    // Refused before anything is written: the role could not be made here.
    const problem = customerRoleProblem(session.account, pair.roleArn);
    if (problem) throw new CustomerRegistryProblem(`roleArn: ${problem}`, 'bad-input');
    const { result, endMs } = await inAccount(session, async (ssm) => {
      const client = await ssm;
      const before = (await listCustomers(client)).find((entry) => entry.name === name);
      const added = await addCustomer(client, name, pair, options);
      return { added, before };
    });
    const { account } = session;
    // A replaced entry naming another role leaves its old role behind only if another customer still names it.
    if (result.before && result.before.roleArn !== pair.roleArn) {
      const others = await inAccount(session, async (ssm) => listCustomers(await ssm));
      if (!others.result.some((entry) => entry.roleArn === result.before!.roleArn)) {
        removeCustomerRole(account, result.before.roleArn);
      }
    }
    putCustomerRole(account, pair);
    account.save(stateDir, endMs);
    return result.added;
  });
}

/** The registered customers: names and role ARNs, never external ids. Reads without the lock. */
export async function listLocalCustomers(stateDir: string): Promise<CustomerEntry[]> {
  checkStateDir(stateDir, { create: false });
  const session = openLocalSession(stateDir);
  return (await inAccount(session, async (ssm) => listCustomers(await ssm))).result;
}

/** Removes a customer's entry and its simulated role (unless another customer names the same role). */
export async function removeLocalCustomer(stateDir: string, name: string): Promise<void> {
  await writing(stateDir, `customers remove ${name}`, async (session) => {
    const { result, endMs } = await inAccount(session, async (ssm) => {
      const client = await ssm;
      const entries = await listCustomers(client);
      await removeCustomer(client, name);
      return entries;
    });
    const roleArn = result.find((entry) => entry.name === name)?.roleArn;
    if (roleArn && !result.some((entry) => entry.name !== name && entry.roleArn === roleArn)) {
      removeCustomerRole(session.account, roleArn);
    }
    session.account.save(stateDir, endMs);
  });
}
