import { describe, expect, it } from 'vitest';
import { localBackend } from '../../src/console/local-backend.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { newStateDir, run, sampleSpec } from '../e2e/harness.js';

/** The local console's create refuses a changed spec that cannot be applied in place, as the CLI does (issue 17). */
describe('local console create of a changed spec', () => {
  it('answers 400 with one line per field, before any run', async () => {
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment')).failure).toBeNull();
    const backend = localBackend({
      stateDir,
      checkSpec: (text) => DeploymentSpecSchema.parse(JSON.parse(text)),
    });
    const changed = { ...sampleSpec, cassandraNodes: 3, availabilityZone: 'us-east-1b' };
    await expect(backend.create(JSON.stringify(changed), 'spec.json')).rejects.toMatchObject({
      status: 400,
      problems: [
        expect.stringMatching(/^availabilityZone: /),
        expect.stringMatching(/^cassandraNodes: 4 to 3/),
      ],
    });
  });
});
