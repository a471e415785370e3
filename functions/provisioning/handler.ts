import { z } from 'zod';
import { PHASE_NAMES } from '../../src/core/phases.js';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaEnvironment } from '../shared/environment.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { phaseStatus, sendPhase } from './provisioning.js';
import { readRing } from './ring.js';

const SentCommand = z.object({
  commandId: z.string(),
  document: z.string(),
  check: z.string().optional(),
  instances: z.number().int().min(1),
  instanceIds: z.array(z.string().startsWith('i-')).optional(),
  parametersHash: z.string(),
});

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('send'),
    spec: specField,
    phase: z.enum(PHASE_NAMES as [string, ...string[]]),
    logVolumeId: z.string().startsWith('vol-').optional(),
    /** Only these nodes (Name tags), e.g. the one Cassandra node a resize joins next. */
    nodes: z.array(z.string().min(1)).optional(),
  }),
  z.object({ action: z.literal('ring'), spec: specField }),
  z.object({
    action: z.literal('status'),
    spec: specField,
    commands: z.array(SentCommand),
    ...roundFields,
  }),
]);

/**
 * SSM Run Command provisioning: send a phase's documents to the fleet, then poll them until done; read the Cassandra
 * ring's next change from the nodes' provisioning tags.
 */
export const handler = lambdaHandler('provisioning', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  if (input.action === 'send') {
    return sendPhase(ctx, input.phase as never, {
      outputBucket: lambdaEnvironment.COMMAND_OUTPUT_BUCKET,
      logVolumeId: input.logVolumeId,
      nodes: input.nodes,
    });
  }
  if (input.action === 'ring') return readRing(ctx);
  return phaseStatus(ctx, input.commands, input);
});
