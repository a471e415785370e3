import { FAILED, failState, stopServicesAndFleet } from './day2.js';
import { poll, pollStart, type States, task } from './dsl.js';

/**
 * The image state machines (issue 17): images-create makes one AMI per node of a deployment the way capideploy's
 * create_snapshot_images does (capideploy-spec.md §2.6): the services stop in order as in stop-deployment (daemons
 * and webapi, RabbitMQ and Prometheus, then Cassandra after `nodetool drain`), the instances stop, then CreateImage
 * for each stopped instance (no NoReboot: the instance is already at rest), image and snapshots tagged on create
 * with the deployment tags; then it waits until every image is available. The fleet stays stopped (run start to
 * bring it back) and the NAT gateway stays. images-delete deregisters the images, then deletes their snapshots, in
 * that order (a snapshot of a registered AMI cannot be deleted). Every step is idempotent: run either again to resume.
 */

type Machine = { Comment: string; StartAt: string; States: States; TimeoutSeconds: number };

export function createImages(): Machine {
  return {
    Comment:
      'Images a Capillaries deployment: services stopped in order (Cassandra drained last), instances stopped, one CreateImage per instance, image and snapshots tagged; waits until every image is available. Run it again to resume.',
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 3 * 3600,
    States: {
      ...stopServicesAndFleet('Create an image of every instance'),
      'Create an image of every instance': task('Images', {
        comment:
          'CreateImage per stopped instance without an image (a failed one is deregistered and made again); Name = the instance Name.',
        parameters: { action: 'create' },
        resultPath: '$.create',
        catchTo: FAILED,
        next: 'Is every image requested?',
      }),
      // At most 40 CreateImage per invocation: a large fleet takes a few calls (each one makes progress).
      'Is every image requested?': {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.create.remaining',
            NumericGreaterThan: 0,
            Next: 'Create an image of every instance',
          },
        ],
        Default: pollStart('Check images available'),
      },
      ...poll({
        check: {
          name: 'Check images available',
          fn: 'Images',
          parameters: { action: 'available' },
          resultPath: '$.images',
        },
        question: 'Are all images available?',
        doneWhen: { variable: '$.images.done', equals: true },
        wait: { name: 'Wait for images', seconds: 15 },
        // 1 hour: the first snapshot of a root volume takes minutes; a rerun waits again.
        maxAttempts: 240,
        counter: '$.imageRounds',
        enterAt: 'wait',
        next: 'Images created',
        catchTo: FAILED,
      }),
      'Images created': {
        Type: 'Pass',
        Parameters: { 'deployment.$': '$.spec.name', 'images.$': '$.images.total' },
        End: true,
      },
      ...failState,
    },
  };
}

export function deleteImages(): Machine {
  return {
    Comment:
      "Deletes a Capillaries deployment's images: DeregisterImage for each, then DeleteSnapshot for each of their snapshots. Run it again to resume.",
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 3600,
    States: {
      'Validate the deployment spec': task('DeploymentPlan', {
        parameters: { action: 'validate', 'spec.$': '$' },
        next: 'Deregister images',
        catchTo: FAILED,
      }),
      'Deregister images': task('Images', {
        comment:
          'DeregisterImage for every image tagged with the deployment; the snapshots stay until the next step.',
        parameters: { action: 'deregister' },
        resultPath: '$.deregistered',
        catchTo: FAILED,
        next: 'Delete snapshots',
      }),
      'Delete snapshots': task('Images', {
        comment: 'DeleteSnapshot for every snapshot tagged with the deployment, once no image uses it.',
        parameters: { action: 'delete-snapshots' },
        resultPath: '$.deleted',
        catchTo: FAILED,
        next: 'Images deleted',
      }),
      'Images deleted': {
        Type: 'Pass',
        Parameters: {
          'deployment.$': '$.spec.name',
          'images.$': '$.deregistered.deregistered',
          'snapshots.$': '$.deleted.deleted',
        },
        End: true,
      },
      ...failState,
    },
  };
}
