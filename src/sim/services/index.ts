import { type AccountOptions, type ServiceSimulator, SimulatedAccount } from '../account.js';
import type { FaultRule } from '../faults.js';
import { ec2Simulator } from './ec2.js';
import { iamSimulator } from './iam.js';
import { logsSimulator } from './logs.js';
import { quotasSimulator } from './quotas.js';
import { createSsmSimulator, type SimDocument } from './ssm.js';
import { stsSimulator } from './sts.js';
import { taggingSimulator } from './tagging.js';

export interface SimulatorOptions {
  /** SSM Command documents by name (the runner passes `loadDocuments()`). */
  documents: Record<string, SimDocument>;
}

/** Every service of the simulated account: EC2, IAM, STS, SSM, ServiceQuotas, ResourceGroupsTaggingAPI, CloudWatch Logs. */
export function createSimulators(options: SimulatorOptions): ServiceSimulator[] {
  return [
    ec2Simulator,
    iamSimulator,
    stsSimulator,
    createSsmSimulator({ documents: options.documents }),
    quotasSimulator,
    taggingSimulator,
    logsSimulator,
  ];
}

export interface OpenAccountOptions extends SimulatorOptions {
  /** See {@link AccountOptions.writable}. */
  writable?: boolean;
  faults?: FaultRule[];
  seed?: number;
  /** The stack's region (default us-east-1; a persisted account keeps its own): see {@link AccountOptions.region}. */
  stackRegion?: string;
  /** See {@link AccountOptions.callLatency} (default true). */
  callLatency?: boolean;
  /** See {@link AccountOptions.iam}: on unless false (local mode's `--no-iam`). */
  iam?: boolean;
  /** See {@link AccountOptions.withoutGrants}. */
  withoutGrants?: AccountOptions['withoutGrants'];
  /** See {@link AccountOptions.cassandraLoadGiB}. */
  cassandraLoadGiB?: number;
}

/** A simulated account with every service: persisted in `stateDir` (see `SimulatedAccount.save`), or in memory. */
export function openAccount(stateDir: string | null, options: OpenAccountOptions): SimulatedAccount {
  const simulators = createSimulators(options);
  const accountOptions = {
    faults: options.faults,
    seed: options.seed,
    writable: options.writable,
    region: options.stackRegion,
    callLatency: options.callLatency,
    iam: options.iam ?? true,
    withoutGrants: options.withoutGrants,
    cassandraLoadGiB: options.cassandraLoadGiB,
  };
  return stateDir === null
    ? new SimulatedAccount(simulators, accountOptions)
    : SimulatedAccount.open(stateDir, simulators, accountOptions);
}
