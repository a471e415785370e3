import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { checkLeftovers, listResources } from './inventory.js';

const StepError = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough();
const StepErrors = z.record(z.string(), StepError);

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('list'), spec: specField }),
  z.object({
    action: z.literal('leftovers'),
    spec: specField,
    errors: StepErrors.default({}),
    branchErrors: z.record(z.string(), StepErrors).default({}),
    ...roundFields,
  }),
]);

/** What the deployment owns: list it, or (last step of a teardown) fail if anything is left. */
export const handler = lambdaHandler('inventory', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  if (input.action === 'list') return { resources: await listResources(ctx) };
  const merged = Object.assign({}, ...Object.values(input.branchErrors), input.errors);
  return checkLeftovers(ctx, merged, input, input.spec.keepLogs);
});
