import { readFileSync } from 'node:fs';
import { checkSpec, type DeploymentSpec, type SpecProblem } from '../core/spec/schema.js';

/** A spec file that could not be used, with one problem per line. */
export class BadInput extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'BadInput';
  }
}

/** Reads and validates a spec file; every problem (unreadable, not JSON, each bad field) becomes one message. */
export function readSpecFile(file: string): DeploymentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new BadInput([`${file}: cannot read: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BadInput([`${file}: not valid JSON: ${(error as Error).message}`]);
  }
  const checked = checkSpec(raw);
  if (!checked.spec) {
    throw new BadInput(
      checked.problems.map((problem: SpecProblem) => `${file}: ${problem.field}: ${problem.message}`),
    );
  }
  return checked.spec;
}
