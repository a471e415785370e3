import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { instancesStatus, instancesTerminated, launchInstances, terminateInstances } from './instances.js';
import { surplusTerminated } from './surplus.js';

const Input = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('launch'),
    spec: specField,
    privateSubnetId: z.string().startsWith('subnet-'),
    publicSubnetId: z.string().startsWith('subnet-'),
    bastionSecurityGroupId: z.string().startsWith('sg-'),
    internalSecurityGroupId: z.string().startsWith('sg-'),
    instanceProfileArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/.+$/),
    amiId: z.string().startsWith('ami-'),
    ...roundFields,
  }),
  z.object({ action: z.literal('status'), spec: specField, ...roundFields }),
  z.object({ action: z.literal('terminate'), spec: specField }),
  z.object({ action: z.literal('terminated'), spec: specField, ...roundFields }),
  z.object({ action: z.literal('terminate-removed'), spec: specField, ...roundFields }),
]);

/** The fleet's instances: launch the missing ones, poll until running, terminate, poll until terminated. */
export const handler = lambdaHandler('instances', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  switch (input.action) {
    case 'launch':
      return launchInstances(ctx, { ...input, fromImages: input.spec.fromImages }, input);
    case 'status':
      return instancesStatus(ctx, input);
    case 'terminate':
      return terminateInstances(ctx);
    case 'terminated':
      return instancesTerminated(ctx, input);
    case 'terminate-removed':
      return surplusTerminated(ctx, input);
  }
});
