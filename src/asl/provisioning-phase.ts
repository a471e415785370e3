import { type PhaseName, phaseMaxRounds } from '../core/phases.js';
import { poll, pollStart, type States, task } from './dsl.js';

/** A provisioning phase of a state machine: its state names, its poll interval, where it goes and fails to. */
export interface ProvisioningPhase {
  /** The send step's name, a sentence: "Install software on every node". */
  name: string;
  phase: PhaseName;
  labels: { check: string; question: string; wait: string };
  waitSeconds: number;
  next: string;
  catchTo: { next: string; resultPath: string };
  /** More parameters of the send, e.g. the log volume or the one node a resize changes. */
  send?: Record<string, unknown>;
}

/**
 * One provisioning phase, the same in every machine: send its SSM documents to the fleet (Provisioning `send`), then
 * poll the commands until all are done, for as long as SSM itself may take to end them.
 */
export function provisioningPhase(options: ProvisioningPhase): States {
  const { name, phase, labels, waitSeconds } = options;
  return {
    [name]: task('Provisioning', {
      parameters: { action: 'send', phase, ...options.send },
      // SendCommand has no client token: a retried send would run the scripts a second time.
      idempotent: false,
      resultPath: '$.commands',
      next: pollStart(labels.check),
      catchTo: options.catchTo,
    }),
    ...poll({
      check: {
        name: labels.check,
        fn: 'Provisioning',
        parameters: { action: 'status', 'commands.$': '$.commands.commands' },
        resultPath: '$.progress',
      },
      question: labels.question,
      doneWhen: { variable: '$.progress.done', equals: true },
      wait: { name: labels.wait, seconds: waitSeconds },
      // SendCommand's delivery timeout + the longest document's execution timeout + a margin (src/core/phases.ts).
      maxAttempts: phaseMaxRounds(phase, waitSeconds),
      counter: '$.commandRounds',
      enterAt: 'wait',
      next: options.next,
      catchTo: options.catchTo,
    }),
  };
}
