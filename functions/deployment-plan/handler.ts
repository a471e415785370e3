import { z } from 'zod';
import { lambdaHandler } from '../shared/handler.js';
import { validateDeployment } from './deployment-plan.js';

const Input = z.object({ action: z.literal('validate'), spec: z.unknown() });

/** Validates the deployment spec and applies its defaults; the first step of every workflow. */
export const handler = lambdaHandler('deployment-plan', Input, async (input) =>
  validateDeployment(input.spec),
);
