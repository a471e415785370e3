import { FAILED, failState, fleetWait, phase } from './day2.js';
import { parallel, pollStart, type States, task } from './dsl.js';
import { cassandraRingComplete, clusterHealthChecks, natGatewayUp, ssmAgentsOnline } from './fleet-waits.js';

/**
 * The start-deployment state machine, the way back from stop-deployment: the instances start while a new NAT
 * gateway comes up (found or made by the same idempotent steps as create-deployment's), the SSM agents come back,
 * Cassandra is set up again on its blank instance-store disks and started, the other services start, and the
 * health checks of create-deployment run. Every step is idempotent: run it again to resume.
 */
export function startDeployment(): {
  Comment: string;
  StartAt: string;
  States: States;
  TimeoutSeconds: number;
} {
  const startFleet = {
    startAt: 'Start instances',
    states: {
      'Start instances': task('FleetPower', {
        comment: 'StartInstances for every stopped instance of the deployment, 50 per call.',
        parameters: { action: 'start' },
        resultPath: '$.start',
        next: pollStart('Check instances running'),
      }),
      ...fleetWait(
        'running',
        {
          check: 'Check instances running',
          question: 'Are all instances running?',
          wait: 'Wait for instances to start',
        },
        'Fleet started',
      ),
      'Fleet started': { Type: 'Pass', End: true },
    },
  };
  const natGateway = {
    startAt: 'Find the VPC',
    states: {
      'Find the VPC': task('Vpc', {
        parameters: { action: 'ensure' },
        resultPath: '$.vpc',
        next: 'Find the subnets',
      }),
      'Find the subnets': task('Subnets', {
        parameters: { action: 'ensure', 'vpcId.$': '$.vpc.vpcId' },
        resultPath: '$.subnets',
        next: 'Find the elastic IPs',
      }),
      'Find the elastic IPs': task('ElasticIps', {
        parameters: { action: 'ensure' },
        resultPath: '$.elasticIps',
        next: 'Create NAT gateway',
      }),
      ...natGatewayUp({
        publicSubnetId: '$.subnets.publicSubnetId',
        allocationId: '$.elasticIps.nat.allocationId',
        vpcId: '$.vpc.vpcId',
        privateSubnetId: '$.subnets.privateSubnetId',
      }),
    },
  };
  return {
    Comment:
      'Starts a stopped Capillaries deployment: instances and a new NAT gateway, SSM agents, Cassandra set up again on its blank instance-store disks, the other services, health checks. Run it again to resume.',
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 4 * 3600,
    States: {
      'Validate the deployment spec': task('DeploymentPlan', {
        parameters: { action: 'validate', 'spec.$': '$' },
        next: 'Start instances while NAT gateway comes up',
        catchTo: FAILED,
      }),
      'Start instances while NAT gateway comes up': parallel([startFleet, natGateway], {
        comment: 'The instances boot while a new NAT gateway comes up; the SSM agents need both.',
        resultSelector: { 'instances.$': '$[0].fleetState.total', 'natGatewayId.$': '$[1].nat.natGatewayId' },
        resultPath: '$.fleet',
        catchTo: FAILED,
        next: 'Start counting SSM agent checks',
      }),
      ...ssmAgentsOnline('Stop Cassandra on lost storage', FAILED),
      ...phase(
        'Stop Cassandra on lost storage',
        'prepare-cassandra',
        {
          check: 'Check Cassandra storage',
          question: 'Is every Cassandra node ready for its new disks?',
          wait: 'Wait for Cassandra storage check',
        },
        5,
        'Configure and start Cassandra again',
      ),
      ...phase(
        'Configure and start Cassandra again',
        'reconfigure-cassandra',
        {
          check: 'Check Cassandra configuration',
          question: 'Is Cassandra configured everywhere?',
          wait: 'Wait for Cassandra configuration',
        },
        5,
        'Start counting Cassandra checks',
      ),
      ...cassandraRingComplete(
        'Start RabbitMQ, Prometheus, daemons and webapi',
        FAILED,
        (name, labels, seconds, next) => phase(name, 'cassandra-status', labels, seconds, next),
      ),
      ...phase(
        'Start RabbitMQ, Prometheus, daemons and webapi',
        'start-services',
        {
          check: 'Check services started',
          question: 'Have all services started?',
          wait: 'Wait for services to start',
        },
        5,
        'Run health checks',
      ),
      ...clusterHealthChecks('Deployment started', FAILED),
      'Deployment started': {
        Type: 'Pass',
        Parameters: {
          'deployment.$': '$.spec.name',
          'health.$': '$.health.results',
          'instances.$': '$.fleet.instances',
        },
        End: true,
      },
      ...failState,
    },
  };
}
