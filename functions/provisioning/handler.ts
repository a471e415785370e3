import { z } from 'zod';
import { PHASE_NAMES } from '../../src/core/phases.js';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaEnvironment } from '../shared/environment.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { phaseStatus, sendPhase } from './provisioning.js';

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
  }),
  z.object({
    action: z.literal('status'),
    spec: specField,
    commands: z.array(SentCommand),
    ...roundFields,
  }),
]);

/** SSM Run Command provisioning: send a phase's documents to the fleet, then poll them until done. */
export const handler = lambdaHandler('provisioning', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  if (input.action === 'send') {
    return sendPhase(ctx, input.phase as never, {
      outputBucket: lambdaEnvironment.COMMAND_OUTPUT_BUCKET,
      logVolumeId: input.logVolumeId,
    });
  }
  return phaseStatus(ctx, input.commands, input);
});
