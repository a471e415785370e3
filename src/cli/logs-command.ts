import {
  type CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  StartLiveTailCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { LOG_SOURCE_NAMES, logGroupName, logStreamName, parseLogStream } from '../core/cluster-logs.js';
import { BadInput } from './spec-file.js';

/**
 * `capi-deploy logs <name> [--node cass001] [--source cassandra] [--since 15m] [--grep TEXT] [--follow] [--json]`:
 * the cluster's logs from its CloudWatch Logs group (`/capideploy/<name>`, one stream per node and source), merged
 * by time, each line prefixed with its node and source. FilterLogEvents reads them; `--follow` then goes on with
 * StartLiveTail on AWS, and polls in local mode (the simulated account has no live tail).
 */

export interface LogsOptions {
  node?: string;
  source?: string;
  since?: string;
  grep?: string;
  follow?: boolean;
  json?: boolean;
}

/** One line of the cluster's logs. */
export interface ClusterLogLine {
  time: number;
  node: string;
  source: string;
  message: string;
}

export interface LogsQuery {
  group: string;
  logStreamNames?: string[];
  logStreamNamePrefix?: string;
  /** Keep only streams of this source (FilterLogEvents selects streams by name or prefix only). */
  source?: string;
  filterPattern?: string;
  startTime?: number;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from `now` (`90s`, `15m`, `2h`, `7d`) or an ISO date; undefined: from the start. */
export function sinceTime(since: string | undefined, now: number): number | undefined {
  if (since === undefined) return undefined;
  const match = /^(\d+)\s*([smhd])$/.exec(since.trim());
  if (match) return now - Number(match[1]) * UNITS[match[2]];
  const date = Date.parse(since);
  if (!Number.isNaN(date) && /^\d{4}-\d{2}-\d{2}/.test(since)) return date;
  throw new BadInput([
    `--since ${JSON.stringify(since)}: expected a duration such as 90s, 15m, 2h or 7d, or an ISO date`,
  ]);
}

/** The query of the options: the streams asked for, the text, the start. */
export function logsQuery(deployment: string, options: LogsOptions, now: number): LogsQuery {
  const problems: string[] = [];
  if (options.node !== undefined && !/^[a-z0-9-]{1,40}$/.test(options.node)) {
    problems.push(
      `--node ${JSON.stringify(options.node)}: expected a node name such as cass001, daemon002 or bastion`,
    );
  }
  if (options.source !== undefined && !LOG_SOURCE_NAMES.includes(options.source)) {
    problems.push(
      `--source ${JSON.stringify(options.source)}: expected one of ${LOG_SOURCE_NAMES.join(', ')}`,
    );
  }
  if (options.grep !== undefined && (options.grep.length === 0 || options.grep.includes('"'))) {
    problems.push('--grep: expected a non-empty text without double quotes');
  }
  if (problems.length > 0) throw new BadInput(problems);
  const node = options.node?.replace(`${deployment}-`, '');
  return {
    group: logGroupName(deployment),
    ...(node && options.source ? { logStreamNames: [logStreamName(node, options.source)] } : {}),
    ...(node && !options.source ? { logStreamNamePrefix: `${node}/` } : {}),
    ...(options.source && !node ? { source: options.source } : {}),
    // A quoted term: the text as it is, not a filter pattern's syntax.
    ...(options.grep ? { filterPattern: `"${options.grep}"` } : {}),
    ...(options.since !== undefined ? { startTime: sinceTime(options.since, now) } : {}),
  };
}

function lineOf(event: FilteredLogEvent): ClusterLogLine {
  const stream = parseLogStream(event.logStreamName ?? '') ?? {
    node: event.logStreamName ?? '?',
    source: '?',
  };
  return {
    time: event.timestamp ?? 0,
    node: stream.node,
    source: stream.source,
    message: event.message ?? '',
  };
}

/** Every matching event of the group (all pages), merged by time. */
export async function filterClusterLogs(
  client: CloudWatchLogsClient,
  query: LogsQuery,
): Promise<ClusterLogLine[]> {
  const lines: ClusterLogLine[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({
        logGroupName: query.group,
        logStreamNames: query.logStreamNames,
        logStreamNamePrefix: query.logStreamNamePrefix,
        filterPattern: query.filterPattern,
        startTime: query.startTime,
        nextToken,
      }),
    );
    lines.push(...(page.events ?? []).map(lineOf));
    nextToken = page.nextToken;
  } while (nextToken);
  return lines
    .filter((line) => !query.source || line.source === query.source)
    .sort((a, b) => a.time - b.time || a.node.localeCompare(b.node) || a.source.localeCompare(b.source));
}

/** `2026-11-29T19:25:01.123Z cass001 cassandra  INFO ...`: time, node and source in columns, then the line. */
export function formatLogLine(line: ClusterLogLine): string {
  return `${new Date(line.time).toISOString()} ${line.node.padEnd(10)} ${line.source.padEnd(15)} ${line.message}`;
}

/**
 * `--follow` on AWS: StartLiveTail on the group (its streams and the grep as the live tail's own filters), printing
 * each new line until the session ends or `signal` aborts.
 */
export async function liveTail(
  client: CloudWatchLogsClient,
  groupArn: string,
  query: LogsQuery,
  print: (line: ClusterLogLine) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await client.send(
    new StartLiveTailCommand({
      logGroupIdentifiers: [groupArn],
      ...(query.logStreamNames ? { logStreamNames: query.logStreamNames } : {}),
      ...(query.logStreamNamePrefix ? { logStreamNamePrefixes: [query.logStreamNamePrefix] } : {}),
      ...(query.filterPattern ? { logEventFilterPattern: query.filterPattern } : {}),
    }),
    { abortSignal: signal },
  );
  for await (const event of response.responseStream ?? []) {
    for (const result of event.sessionUpdate?.sessionResults ?? []) {
      const line = lineOf({
        logStreamName: result.logStreamName,
        timestamp: result.timestamp,
        message: result.message,
      });
      if (!query.source || line.source === query.source) print(line);
    }
    if (signal?.aborted) return;
  }
}

/** No log group: the deployment was never created (or deleted without keepLogs), or its logs are elsewhere. */
export function noGroupMessage(deployment: string): string {
  return `no log group ${logGroupName(deployment)}: ${deployment} has not created it yet, or it was deleted (spec keepLogs keeps it)`;
}

/** Where the command reads: the group's client and "now" (virtual in local mode), and how to go on with `--follow`. */
export interface LogsSource {
  /** Runs `read` with the deployment's CloudWatch Logs client; `now` is the reader's current time. */
  read<T>(read: (client: CloudWatchLogsClient, now: number) => Promise<T>): Promise<T>;
  /** Follows new lines after `from` until interrupted. */
  follow(query: LogsQuery, from: number, print: (line: ClusterLogLine) => void): Promise<void>;
}

/** The command itself: prints the lines (or one JSON object) and, with `--follow`, the new ones as they come. */
export async function showLogs(
  deployment: string,
  options: LogsOptions,
  source: LogsSource,
  print: (text: string) => void = (text) => console.log(text),
): Promise<void> {
  if (options.follow && options.json)
    throw new BadInput(['--follow prints lines as they come: not with --json']);
  const { query, lines } = await source.read(async (client, now) => {
    const query = logsQuery(deployment, options, now);
    try {
      return { query, lines: await filterClusterLogs(client, query) };
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException')
        throw new BadInput([noGroupMessage(deployment)]);
      throw error;
    }
  });
  if (options.json) {
    print(JSON.stringify({ group: query.group, events: lines }, null, 2));
    return;
  }
  for (const line of lines) print(formatLogLine(line));
  if (lines.length === 0 && !options.follow) print(`(no lines in ${query.group} match)`);
  if (options.follow) {
    const from = (lines.at(-1)?.time ?? query.startTime ?? 0) + 1;
    await source.follow(query, from, (line) => print(formatLogLine(line)));
  }
}

/** AWS mode: the deployment's region (`--region`, else the SDK's default chain) and the caller's credentials. */
export async function awsLogsSource(region: string | undefined, signal?: AbortSignal): Promise<LogsSource> {
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  const client = new CloudWatchLogsClient(region ? { region } : {});
  return {
    read: (read) => read(client, Date.now()),
    async follow(query, _from, print) {
      const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
      const identity = await new STSClient(region ? { region } : {}).send(new GetCallerIdentityCommand({}));
      const partition = identity.Arn?.split(':')[1] ?? 'aws';
      const callRegion = await client.config.region();
      const arn = `arn:${partition}:logs:${callRegion}:${identity.Account}:log-group:${query.group}`;
      await liveTail(client, arn, query, print, signal);
    },
  };
}

/**
 * Local mode: the simulated account of the state dir, read at its own virtual time (its nodes wrote in virtual
 * time); `--follow` reads it again every `pollMs` of wall time, as a create in another shell goes on.
 */
export async function localLogsSource(
  stateDir: string,
  deployment: string,
  pollMs = 2_000,
  signal?: AbortSignal,
): Promise<LogsSource> {
  const [
    { loadDeploymentSpec, openLocalSession },
    { useSimulatedAccount },
    { runInVirtualTime },
    { clientsFor },
  ] = await Promise.all([
    import('../local/local-mode.js'),
    import('../local/engine.js'),
    import('../sim/clock.js'),
    import('../../functions/shared/clients.js'),
  ]);
  const spec = loadDeploymentSpec(stateDir, deployment);
  if (!spec) throw new BadInput([`no deployment named ${deployment} in ${stateDir}`]);
  const read = async <T>(work: (client: CloudWatchLogsClient, now: number) => Promise<T>) => {
    const { account } = openLocalSession(stateDir);
    useSimulatedAccount(account);
    const start = Math.max(Date.now(), account.lastClock);
    // The operator's own read (not a workflow function's): not evaluated against IAM, as status is not.
    const { result } = await runInVirtualTime(start, async () =>
      work((await clientsFor(spec.region)).logs, start),
    );
    return result;
  };
  return {
    read,
    async follow(query, from, print) {
      let after = from;
      while (!signal?.aborted) {
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        const lines = await read((client) => filterClusterLogs(client, { ...query, startTime: after }));
        for (const line of lines) print(line);
        if (lines.length > 0) after = lines.at(-1)!.time + 1;
      }
    },
  };
}
