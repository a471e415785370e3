import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionFactory, handlerFunction, stubFunction } from '../../infra/handler-function.js';
import { handlerEntry } from '../../src/core/catalogue.js';

/**
 * The one place the tests run esbuild: stacks.test.ts synthesizes the app with stub code, so this file bundles two
 * handlers with the app's factory and checks what goes into a bundle, and that the stub changes nothing but the code.
 */
const outdir = mkdtempSync(join(tmpdir(), 'capideploy-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The Lambda resources of a stack holding DeploymentPlan and Vpc, made by `factory`, by construct id. */
function lambdas(app: App, factory?: FunctionFactory) {
  const stack = new Stack(app, factory ? 'Stubbed' : 'Bundled');
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const functions = {
    DeploymentPlan: handlerFunction(stack, 'DeploymentPlanFunction', {
      entry: handlerEntry('DeploymentPlan'),
      role,
      functionFactory: factory,
    }),
    Vpc: handlerFunction(stack, 'VpcFunction', {
      entry: handlerEntry('Vpc'),
      role,
      functionFactory: factory,
    }),
  };
  return () => {
    const resources = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    return Object.fromEntries(
      Object.entries(functions).map(([name, fn]) => [
        name,
        resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)],
      ]),
    ) as Record<keyof typeof functions, { Properties: Record<string, any> }>;
  };
}

let bundled: ReturnType<ReturnType<typeof lambdas>>;
let stubbed: ReturnType<ReturnType<typeof lambdas>>;

beforeAll(() => {
  const app = new App({ outdir });
  const real = lambdas(app);
  const stub = lambdas(app, stubFunction);
  app.synth();
  bundled = real();
  stubbed = stub();
});

/** The bundle of a function and the source files esbuild put into it (from its source map). */
function bundleOf(name: keyof typeof bundled) {
  const key: string = bundled[name].Properties.Code.S3Key;
  const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
  return { code: readFileSync(join(dir, 'index.mjs'), 'utf8'), sources: map.sources };
}
const packagesIn = (sources: string[]) =>
  new Set(sources.flatMap((source) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1] ?? []));

describe('handler bundles (esbuild)', () => {
  it('bundles DeploymentPlan as ESM with the require shim, middy and Powertools, without AWS SDK clients or yaml', () => {
    const { code, sources } = bundleOf('DeploymentPlan');
    expect(code.startsWith('import { createRequire as __capiCreateRequire }')).toBe(true);
    expect(sources.some((source) => source.endsWith('functions/deployment-plan/handler.ts'))).toBe(true);
    const packages = [...packagesIn(sources)];
    expect(packages).toEqual(
      expect.arrayContaining([
        'zod',
        '@middy/core',
        '@aws-lambda-powertools/logger',
        '@aws-lambda-powertools/tracer',
      ]),
    );
    // The plan calls no AWS service: no SDK client, and never the YAML loader of the documents.
    expect(packages.filter((name) => name.startsWith('@aws-sdk/client-') || name === 'yaml')).toEqual([]);
  });

  it('bundles the AWS SDK into a handler that calls AWS, and never yaml', () => {
    const packages = packagesIn(bundleOf('Vpc').sources);
    expect(packages).toContain('@aws-sdk/client-ec2');
    expect(packages).not.toContain('yaml');
  });

  it('gives the stub the same function as the bundle but for the code', () => {
    for (const name of ['DeploymentPlan', 'Vpc'] as const) {
      const { Code: bundle, ...real } = bundled[name].Properties;
      const { Code: stub, ...stubProperties } = stubbed[name].Properties;
      expect(Object.keys(bundle).sort()).toEqual(['S3Bucket', 'S3Key']);
      expect(Object.keys(stub)).toEqual(['ZipFile']);
      expect(stubProperties, name).toEqual(real);
    }
  });
});
