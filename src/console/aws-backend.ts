import { DescribeExecutionCommand, type ExecutionListItem, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionRecord } from '../core/execution-record.js';
import { fetchExecutionHistory, recordFromSfnHistory } from '../core/history.js';
import type { InventoryItem } from '../core/inventory.js';
import {
  listDeployments,
  type Machines,
  parseCreateName,
  type Submitted,
  submitCreate,
  submitDelete,
} from '../core/lifecycle.js';
import { allExecutions } from '../core/list-executions.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../core/spec/schema.js';
import { type CostEstimate, estimateCost } from '../cost/estimate.js';
import {
  type ConsoleBackend,
  ConsoleRefusal,
  type DeploymentDetail,
  type DeploymentRow,
  type ExecutionItem,
  type Started,
} from './backend.js';

/**
 * The console on AWS: deployments and executions from Step Functions (the names of src/core/lifecycle.ts), each
 * execution's history read as `capi-deploy history` reads it, and with `--allow-changes` the same StartExecution
 * calls as `create` / `delete` (idempotent by name). Nothing is stopped from here: StopExecution is left to the
 * Step Functions console. The caller's credentials are used as they are.
 */
interface AwsBackendOptions {
  sfn: SFNClient;
  machines: Machines;
  /** The stack, for the header. */
  where: string;
  /** `--allow-changes`: start creates and deletes; otherwise the console is read-only. */
  allowChanges: boolean;
  /** Reads and validates a spec text as `validate` does; throws an error with `problems` (one line each). */
  checkSpec(text: string, fileName: string): DeploymentSpec;
  /** What a deployment owns now, when the caller may list it. */
  inventory?(spec: DeploymentSpec): Promise<InventoryItem[]>;
}

const DELETE_NAME = /^(.+)-delete-(\d+)$/;
const ms = (date: Date | undefined) => (date ? date.getTime() : null);

function awsBackend(options: AwsBackendOptions): ConsoleBackend {
  const { sfn, machines } = options;
  const listed = async () => ({
    creates: await allExecutions(sfn, machines.createArn),
    deletes: await allExecutions(sfn, machines.deleteArn),
  });
  const executionsOf = async (
    deployment: string,
  ): Promise<(ExecutionListItem & { op: 'create' | 'delete' })[]> => {
    const { creates, deletes } = await listed();
    const mine = creates.filter((item) => parseCreateName(item.name ?? '')?.deployment === deployment);
    const names = new Set(mine.map((item) => item.name));
    const undone = deletes.filter((item) => names.has(DELETE_NAME.exec(item.name ?? '')?.[1]));
    return [
      ...mine.map((item) => ({ ...item, op: 'create' as const })),
      ...undone.map((item) => ({ ...item, op: 'delete' as const })),
    ].sort((a, b) => (ms(b.startDate) ?? 0) - (ms(a.startDate) ?? 0));
  };
  const guard = () => {
    if (!options.allowChanges) {
      throw new ConsoleRefusal(403, [
        'the console is read-only: start it with --allow-changes to create or delete',
      ]);
    }
  };
  const started = (submitted: Submitted): Started => ({
    execution: submitted.execution.name,
    message: submitted.message,
  });
  const asRefusal = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'DeploymentConflict') throw new ConsoleRefusal(409, [(error as Error).message]);
      if (name === 'DeploymentNotFound') throw new ConsoleRefusal(404, [(error as Error).message]);
      // A spec changed in a way a re-apply cannot make (src/core/resize.ts): one line per field.
      if (name === 'SpecChangeRefused')
        throw new ConsoleRefusal(400, (error as { problems: string[] }).problems);
      throw error;
    }
  };
  const specOf = async (deployment: string): Promise<DeploymentSpec | null> => {
    const create = (await executionsOf(deployment)).find((item) => item.op === 'create');
    if (!create?.executionArn) return null;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: create.executionArn }));
    const parsed = DeploymentSpecSchema.safeParse(JSON.parse(described.input ?? '{}'));
    return parsed.success ? parsed.data : null;
  };
  return {
    mode: 'aws',
    canChange: options.allowChanges,
    canStop: false,
    where: options.where,
    async deployments(): Promise<DeploymentRow[]> {
      return (await listDeployments(sfn, machines)).map((row) => ({
        deployment: row.deployment,
        region: null,
        operation: row.state.startsWith('delet') ? 'delete' : 'create',
        status: row.execution.status,
        execution: row.execution.name,
        resources: null,
        billed: null,
        hourlyUsd: null,
        note: 'open the deployment to list its resources',
      }));
    },
    async deployment(name): Promise<DeploymentDetail | null> {
      const items = await executionsOf(name);
      if (items.length === 0) return null;
      const latest = items[0];
      let cost: CostEstimate | null = null;
      let note: string | undefined;
      const spec = await specOf(name);
      if (spec && options.inventory) {
        try {
          cost = estimateCost(await options.inventory(spec), spec.region);
        } catch (error) {
          note = `resources not listed: ${(error as Error).message}`;
        }
      } else note = 'resources not listed in this mode';
      const executions: ExecutionItem[] = items.map((item) => ({
        execution: item.name ?? '?',
        operation: item.op,
        status: item.status ?? '?',
        startDate: ms(item.startDate),
        stopDate: ms(item.stopDate),
      }));
      return {
        row: {
          deployment: name,
          region: spec?.region ?? null,
          operation: latest.op,
          status: latest.status ?? null,
          execution: latest.name ?? null,
          resources: cost ? cost.items.length : null,
          billed: cost ? cost.items.filter((item) => item.billed).length : null,
          hourlyUsd: cost ? cost.hourlyUsd : null,
          ...(note ? { note } : {}),
        },
        cost,
        executions,
      };
    },
    async execution(name): Promise<ExecutionRecord | null> {
      const { creates, deletes } = await listed();
      const byName = [...creates, ...deletes].find((item) => item.name === name);
      const latest = byName ?? (await executionsOf(name))[0];
      if (!latest?.executionArn) return null;
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: latest.executionArn }));
      const record = recordFromSfnHistory(described, await fetchExecutionHistory(sfn, latest.executionArn));
      return { ...record, execution: latest.name ?? record.execution };
    },
    async create(specText, fileName) {
      guard();
      let spec: DeploymentSpec;
      try {
        spec = options.checkSpec(specText, fileName);
      } catch (error) {
        const problems = (error as { problems?: string[] }).problems;
        throw new ConsoleRefusal(400, problems ?? [(error as Error).message]);
      }
      return started(await asRefusal(() => submitCreate(sfn, machines, spec)));
    },
    async resume(name) {
      guard();
      const spec = await specOf(name);
      if (!spec) throw new ConsoleRefusal(404, [`no create execution of ${name} with a valid spec`]);
      return started(await asRefusal(() => submitCreate(sfn, machines, spec)));
    },
    async delete(name) {
      guard();
      return started(await asRefusal(() => submitDelete(sfn, machines, name)));
    },
    async stop() {
      throw new ConsoleRefusal(403, ['stopping an AWS execution is done in the Step Functions console']);
    },
    onChange() {
      // AWS executions are followed by polling their history while a page watches them.
    },
    async close() {},
  };
}

export type { AwsBackendOptions };
export { awsBackend };
