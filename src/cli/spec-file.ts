import { readFileSync } from 'node:fs';
import { isDeploymentName, RULES } from '../core/parameter-rules.js';
import { parseSpecJson } from '../core/spec/json-text.js';
import { checkSpec, type DeploymentSpec, type SpecProblem, specWarnings } from '../core/spec/schema.js';

/** A spec file that could not be used, with one problem per line. */
export class BadInput extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'BadInput';
  }
}

/** `<file>: <field>: <message>`; a problem of the whole text (not JSON) has no field. */
const line = (file: string, { field, message }: SpecProblem) =>
  field === '(spec)' && message.startsWith('not valid JSON')
    ? `${file}: ${message}`
    : `${file}: ${field}: ${message}`;

/**
 * Reads and validates a spec file; every problem (unreadable, not JSON, a key given twice, each bad field) becomes
 * one message. A valid spec's warnings (the bastion open to the whole internet) are printed on stderr.
 */
export function readSpecFile(file: string): DeploymentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new BadInput([`${file}: cannot read: ${(error as Error).message}`]);
  }
  const spec = checkSpecText(text, file);
  for (const warning of specWarnings(spec)) console.error(`${file}: warning: ${warning}`);
  return spec;
}

/** Validates a spec's text (an upload of the console) with the same messages as a file, `<file>: <field>: <message>`. */
export function checkSpecText(text: string, file: string): DeploymentSpec {
  const parsed = parseSpecJson(text);
  if (parsed.problems.length > 0) throw new BadInput(parsed.problems.map((problem) => line(file, problem)));
  const checked = checkSpec(parsed.value);
  if (!checked.spec) {
    throw new BadInput(checked.problems.map((problem) => line(file, problem)));
  }
  return checked.spec;
}

/** A deployment name given as an argument, checked like a spec's before it touches the file system. */
export function checkDeploymentName(name: string): void {
  if (!isDeploymentName(name)) {
    throw new BadInput([
      `deployment name ${JSON.stringify(name)}: must be ${RULES.deploymentName.description}`,
    ]);
  }
}
