import { z } from 'zod';
import { deploymentContext, specField } from '../shared/context.js';
import { lambdaHandler } from '../shared/handler.js';
import { roundFields } from '../shared/rounds.js';
import { createImages, deleteSnapshots, deregisterImages, imagesState, listImages } from './images.js';

const Input = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['create', 'list', 'deregister', 'delete-snapshots']), spec: specField }),
  z.object({ action: z.literal('available'), spec: specField, ...roundFields }),
]);

/** Images of a deployment: create one per node, poll them until available, list them, deregister, delete snapshots. */
export const handler = lambdaHandler('images', Input, async (input) => {
  const ctx = await deploymentContext(input.spec);
  switch (input.action) {
    case 'create':
      return createImages(ctx);
    case 'available':
      return imagesState(ctx, input);
    case 'list':
      return listImages(ctx);
    case 'deregister':
      return deregisterImages(ctx);
    case 'delete-snapshots':
      return deleteSnapshots(ctx);
  }
});
