import type { OperationContext, ServiceSimulator } from '../account.js';
import { agentOperations } from './ssm/agents.js';
import { getCommandInvocation, invocationOperations, listCommandInvocations } from './ssm/invocations.js';
import { parameterOperations } from './ssm/parameters.js';
import { documentOf, sendCommand } from './ssm/run-command.js';
import { type Documents, ec2Of, nameOf, type SsmState } from './ssm/state.js';

export { AGENT_VERSION } from './ssm/agents.js';
export { HEALTH_CHECK_DOCUMENT, roleOfInstance } from './ssm/cluster.js';
export { STDERR_LIMIT, STDOUT_LIMIT } from './ssm/invocations.js';
export { DEFAULT_DOCUMENT_SECONDS, DOCUMENT_SECONDS } from './ssm/run-command.js';
export type {
  SimDocument,
  SimDocumentParameter,
  SsmCommand,
  SsmInvocation,
  SsmManagedInstance,
  SsmParameter,
  SsmState,
} from './ssm/state.js';
export { uuidFrom } from './ssm/state.js';

export interface SsmSimulatorOptions {
  /** Command documents by name (the runner passes `loadDocuments()`). */
  documents: Documents;
}

/** Fault-rule targets: the Name tags of the instances a command names, else the parameter names. */
function targetsOf(ctx: OperationContext<SsmState>, operation: string, input: any): string[] {
  if (operation === 'SendCommand' || operation === 'GetCommandInvocation') {
    const ids: string[] = operation === 'SendCommand' ? (input?.InstanceIds ?? []) : [input?.InstanceId];
    const instances = ec2Of(ctx).instances;
    return ids.filter((id) => typeof id === 'string').map((id) => nameOf(instances[id], id));
  }
  const names = [input?.Name, ...(Array.isArray(input?.Names) ? input.Names : []), input?.Path];
  return names.filter((name): name is string => typeof name === 'string');
}

/** SSM: Parameter Store, agent registration of EC2 instances, and Run Command with the provisioning documents. */
export function createSsmSimulator(options: SsmSimulatorOptions): ServiceSimulator<SsmState> {
  const { documents } = options;
  return {
    name: 'SSM',
    initialState: () => ({ parameters: {}, managedInstances: {}, commands: {} }),
    operations: {
      ...parameterOperations,
      ...agentOperations,
      SendCommand: (ctx, input) => sendCommand(ctx, input, documents),
      DescribeDocument: (ctx, input) => {
        documentOf(ctx, documents, input?.Name);
        return {
          Document: {
            Name: input.Name,
            Owner: ctx.caller.accountId,
            DocumentType: 'Command',
            DocumentFormat: 'YAML',
            SchemaVersion: '2.2',
            Status: 'Active',
            DocumentVersion: '1',
            DefaultVersion: '1',
            LatestVersion: '1',
          },
        };
      },
      GetCommandInvocation: (ctx, input) => getCommandInvocation(ctx, input, documents),
      ListCommandInvocations: (ctx, input) => listCommandInvocations(ctx, input, documents),
      ...invocationOperations,
    },
    targetsOf,
  };
}
