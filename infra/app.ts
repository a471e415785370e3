import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.js';

/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy CapiDeploy` (see infra/README.md). Run directly
 * (`npx tsx infra/app.ts`), it synthesizes into `cdk.out` without the CLI. Every handler the state machines
 * reference must exist, or the synth fails naming the missing files.
 */
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
buildApp(app);
const assembly = app.synth();
if (!process.env.CDK_OUTDIR)
  console.error(
    `synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} into ${assembly.directory}`,
  );
