import { FAILED, failState, stopServicesAndFleet } from './day2.js';
import { pollStart, type States, task } from './dsl.js';
import { natGatewayGone } from './fleet-waits.js';

/**
 * The stop-deployment state machine: the services stop in order (daemons and webapi, then RabbitMQ and Prometheus,
 * then Cassandra after `nodetool drain`), then the instances, then the NAT gateway is deleted. What is left
 * billed: the volumes (root volumes and the bastion's log volume) and the elastic IPs. Every step is idempotent: a
 * stop that failed half-way is resumed by running it again (services of instances already stopped are skipped).
 * Cassandra's data is on instance-store NVMe, which does not survive a stop: the CLI and the API refuse a stop
 * without `--force` (src/core/day2.ts), before this machine starts.
 */
export function stopDeployment(): {
  Comment: string;
  StartAt: string;
  States: States;
  TimeoutSeconds: number;
} {
  return {
    Comment:
      'Stops a Capillaries deployment: services in order (Cassandra drained last), then the instances, then the NAT gateway is deleted. Run it again to resume.',
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 2 * 3600,
    States: {
      ...stopServicesAndFleet('Delete NAT gateway'),
      // Only once the fleet is stopped: a stop resumed after a failure may still need SSM, which reaches the
      // private nodes through the NAT gateway.
      'Delete NAT gateway': task('NatGateway', {
        comment: 'A stopped deployment needs no way out; start-deployment makes a new one.',
        parameters: { action: 'delete' },
        resultPath: null,
        catchTo: FAILED,
        next: pollStart('Check NAT gateway deleted'),
      }),
      ...natGatewayGone('Deployment stopped', FAILED),
      'Deployment stopped': {
        Type: 'Pass',
        Parameters: { 'deployment.$': '$.spec.name', 'instances.$': '$.fleetState.total' },
        End: true,
      },
      ...failState,
    },
  };
}
