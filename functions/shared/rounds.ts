import { z } from 'zod';

/**
 * The round of a counted wait loop (`poll` / `roundCounter` in src/asl/dsl.ts): the state machine counts rounds from
 * 0 in the execution and passes the count and the loop's bound to the check. Every wait is bounded this one way; the
 * check fails with a named error when it is still not done in its last round.
 */
export const roundFields = {
  attempt: z.number().int().min(0).optional(),
  maxAttempts: z.number().int().min(1).optional(),
};

export interface Round {
  attempt?: number;
  maxAttempts?: number;
}

/** True in the last round of a counted loop: a check not done now fails instead of waiting again. */
export const isLastRound = (round: Round) =>
  round.attempt !== undefined && round.maxAttempts !== undefined && round.attempt + 1 >= round.maxAttempts;

/** `after 120 checks` for messages. */
export const roundsText = (round: Round) => `after ${round.maxAttempts ?? '?'} checks`;
