import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** Whatever takes an execution's history events, page by page, oldest first. */
export interface HistoryTaker {
  read(events: HistoryEvent[]): void;
}

/**
 * Reads the history of an execution from `resumeToken` (or the start) to its current end. Returns the token of the
 * last page read, so the next call re-reads only that page: Step Functions gives no token once the end is reached,
 * so a taker that follows a running execution skips the events it has seen (by id).
 */
export async function readHistory(
  sfn: SFNClient,
  executionArn: string,
  taker: HistoryTaker,
  resumeToken?: string,
): Promise<string | undefined> {
  let token = resumeToken;
  for (;;) {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken: token }),
    );
    taker.read(page.events ?? []);
    if (!page.nextToken) return token;
    token = page.nextToken;
  }
}

/** The error and cause of a failure event, whatever its `*EventDetails` field is called. */
export function errorOf(event: HistoryEvent): { error: string; cause: string } {
  const details = Object.entries(event).find(
    ([key, value]) => key.endsWith('EventDetails') && value && typeof value === 'object' && 'error' in value,
  )?.[1] as { error?: string; cause?: string } | undefined;
  return { error: details?.error ?? event.type ?? 'Unknown', cause: details?.cause ?? '' };
}
