import { createRequire } from 'node:module';

/**
 * Loads the X-Ray SDK in manual mode, before anything else of local mode imports it (through the handlers'
 * Powertools Tracer). In its default automatic mode, loading it installs an async hook with a destroy callback,
 * which Node then runs for every promise of the process: a tenth of a local run's CPU. Local mode never traces (the
 * Tracer is on only in a Lambda sandbox, functions/shared/observability.ts), so the mode changes nothing else. The
 * environment is as it was afterwards: the SDK reads the variable only as it loads.
 */
const previous = process.env.AWS_XRAY_MANUAL_MODE;
process.env.AWS_XRAY_MANUAL_MODE = 'true';
try {
  createRequire(import.meta.url)('aws-xray-sdk-core');
} finally {
  if (previous === undefined) delete process.env.AWS_XRAY_MANUAL_MODE;
  else process.env.AWS_XRAY_MANUAL_MODE = previous;
}
