import { createHash } from 'node:crypto';
import type { Instance } from '@aws-sdk/client-ec2';

// The sample spec, its deployment context on mocked SDK clients and the error assertions are shared with the
// network handler tests.
export {
  awsError,
  expectNamedError,
  ownFilters,
  RAW_SPEC,
  rejectionOf,
  sampleContext,
  specWith,
} from './network/helpers.js';

/** The 11 nicknames of the sample fleet, in plan order. */
export const SAMPLE_NICKNAMES = [
  'bastion',
  'rabbitmq',
  'prometheus',
  'cass001',
  'cass002',
  'cass003',
  'cass004',
  'daemon001',
  'daemon002',
  'daemon003',
  'daemon004',
];

/** A DescribeInstances instance of the sample deployment. */
export function instance(
  nickname: string,
  state: string,
  id = idOf(nickname),
  extra: Partial<Instance> = {},
): Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    LaunchTime: new Date(Date.now() - 60_000),
    Tags: [
      { Key: 'Name', Value: `sample-${nickname}` },
      { Key: 'DeploymentName', Value: 'sample' },
      { Key: 'DeploymentOperator', Value: 'capideploy' },
      { Key: 'Nickname', Value: nickname },
    ],
    ...extra,
  };
}

/** Distinct, valid-looking instance ids per nickname. */
export const idOf = (nickname: string) =>
  `i-${createHash('sha256').update(nickname).digest('hex').slice(0, 17)}`;

/** The whole sample fleet in one state, as one DescribeInstances page. */
export const fleetPage = (state: string, overrides: Record<string, Partial<Instance>> = {}) => ({
  Reservations: [
    {
      Instances: SAMPLE_NICKNAMES.map((nickname) =>
        instance(nickname, state, idOf(nickname), overrides[nickname] ?? {}),
      ),
    },
  ],
});
