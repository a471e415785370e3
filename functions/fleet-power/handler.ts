import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { fleetState, powerFleet } from './fleet-power.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['stop', 'start']), spec: specField }),
  z.object({ action: z.enum(['stopped', 'running']), spec: specField, ...roundFields }),
]);

/** Stops or starts the deployment's fleet, and polls it until every instance is stopped or running. */
export const handler = lambdaHandler('fleet-power', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  switch (input.action) {
    case 'stop':
    case 'start':
      return powerFleet(ctx, input.action);
    case 'stopped':
      return fleetState(ctx, 'stop', input);
    case 'running':
      return fleetState(ctx, 'start', input);
  }
});
