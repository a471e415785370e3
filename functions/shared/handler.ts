import type { z } from 'zod';
import { InvalidSpec } from '../../src/core/errors.js';

/**
 * Wraps a handler's logic: parses the event with its zod schema (a terminal `InvalidSpec` naming every bad field
 * when it does not fit), then returns the logic's plain-JSON result. Errors from the logic pass through unchanged,
 * so Step Functions sees their names.
 */
export function lambdaHandler<Schema extends z.ZodType, Result>(
  handlerName: string,
  schema: Schema,
  logic: (input: z.output<Schema>) => Promise<Result>,
): (event: unknown) => Promise<Result> {
  return async (event: unknown) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      const fields = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
      );
      throw new InvalidSpec({
        resource: `input of ${handlerName}`,
        message: fields.join('; '),
        hint: 'The state machine passed an input this handler does not accept; check the ASL Parameters of the step.',
      });
    }
    return logic(parsed.data);
  };
}
