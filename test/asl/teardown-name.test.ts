import '../../src/local/polyfills.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { machinePath } from '../../src/asl/write.js';
import { readSpecFile } from '../../src/cli/spec-file.js';
import { createName, deleteName } from '../../src/core/lifecycle.js';

const TEARDOWN = 'Delete everything after failure';
const spec = readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url)));

/** The parameters the teardown state of create-deployment.asl.json sends to StartExecution, for one create name. */
async function teardownParameters(executionName: string) {
  const definition = JSON.parse(readFileSync(machinePath('create-deployment'), 'utf8'));
  const { Next, Catch: _catch, ...state } = definition.States[TEARDOWN];
  expect(Next).toBeDefined();
  const machine = new StateMachine(
    { StartAt: TEARDOWN, States: { [TEARDOWN]: { ...state, End: true } } } as never,
    {
      validationOptions: { checkArn: false },
    },
  );
  let sent: Record<string, unknown> = {};
  const run = machine.run({ spec } as never, {
    context: { Execution: { Name: executionName } },
    overrides: {
      taskResourceLocalHandlers: {
        [TEARDOWN]: async (parameters) => {
          sent = parameters as Record<string, unknown>;
          return { Status: 'SUCCEEDED' };
        },
      },
    },
  });
  await run.result;
  return sent;
}

describe('the automatic teardown of onFailure: delete', () => {
  it("is started as the create's first delete, the name the API and the CLI look for", async () => {
    const create = createName(spec, 3);
    const sent = await teardownParameters(create);
    expect(sent).toMatchObject({ Name: deleteName(create, 1), Input: spec });
    expect(sent.Name).toBe(`${create}-delete-1`);
  });
});
