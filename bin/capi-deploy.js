#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so there is no build step between a clone and `npm start`.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on Node 20 that future releases need Node 22; the CLI supports both, so keep stderr for errors.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning'))
    console.error(`${warning.name}: ${warning.message}`);
});

// A closed stdout or stderr (`capi-deploy history | head`) ends the output quietly; a run goes on to its end.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
