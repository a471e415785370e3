import type { SimulatedAccount } from './account.js';
import { callingFunction } from './iam/caller.js';

/** The part of an AWS SDK v3 client the simulator needs: its middleware stack and resolved config. */
export interface SimulatableClient {
  middlewareStack: { add: (middleware: any, options: any) => void };
  config: {
    credentials: () => Promise<{ accessKeyId: string }>;
    region?: string | (() => Promise<string>);
    serviceId?: string;
  };
}

/** `EC2Client` -> `EC2`, `ResourceGroupsTaggingAPIClient` -> `ResourceGroupsTaggingAPI`. */
function serviceOf(clientName: string): string {
  return clientName.replace(/Client$/, '');
}

/**
 * Puts the simulated account at the bottom of a real SDK client's middleware stack (step `finalizeRequest`,
 * priority low): serialization, signing and the SDK's retry middleware all run for real above it, so a
 * simulated `RequestLimitExceeded` is retried by the SDK exactly as on AWS. Deserialization is skipped: the
 * simulator answers with the command's output shape directly.
 */
export function attachSimulator(client: SimulatableClient, account: SimulatedAccount): void {
  client.middlewareStack.add(
    (_next: unknown, context: { clientName: string; commandName: string }) =>
      async (args: { input: unknown }) => {
        const credentials = await client.config.credentials();
        // The region the call goes to (the spec's), not the stack's: SSM documents exist only in the latter.
        const region = client.config.region;
        const callRegion = typeof region === 'function' ? await region() : region;
        const output = await account.handle(
          serviceOf(context.clientName),
          context.commandName.replace(/Command$/, ''),
          (args.input ?? {}) as Record<string, unknown>,
          { accessKeyId: credentials.accessKeyId, region: callRegion, fn: callingFunction() },
        );
        return {
          output: {
            ...(output as object),
            $metadata: { httpStatusCode: 200, requestId: account.requestId() },
          },
          response: { statusCode: 200, headers: {}, body: undefined },
        };
      },
    { step: 'finalizeRequest', priority: 'low', name: 'simulatedAwsAccount', override: true },
  );
}
