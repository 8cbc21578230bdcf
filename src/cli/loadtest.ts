import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUESTS,
  DEFAULT_TIMEOUT_MS,
  MAX_CONCURRENCY,
  asksForStream,
  defaultBody,
  formatSummary,
  loadReport,
  runLoad,
  type LoadOptions,
} from '../loadtest/index.ts';
import { parseDurationMs } from './mock.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Options as commander parses them. */
interface LoadtestCliOptions {
  url: string;
  requests?: number;
  concurrency: number;
  stream?: boolean;
  model?: string;
  prompt?: string;
  body?: string;
  header?: [string, string][];
  duration?: number;
  timeout?: number;
  json?: boolean;
}

function intArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer ≥ ${min}`
          : `expected an integer ${min}..${max}`,
      );
    return n;
  };
}

function positiveDuration(v: string): number {
  const ms = parseDurationMs(v);
  if (ms <= 0) throw new InvalidArgumentError('expected a duration above 0, such as 500ms or 30s');
  return ms;
}

function urlArg(v: string): string {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new InvalidArgumentError(
      'expected an absolute URL such as http://127.0.0.1:15001/v1/chat/completions',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http or https URL');
  return v;
}

function headerArg(v: string, previous: [string, string][] | undefined): [string, string][] {
  const i = v.indexOf(':');
  const name = i > 0 ? v.slice(0, i).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    throw new InvalidArgumentError('expected NAME:VALUE, e.g. authorization:Bearer x');
  return [...(previous ?? []), [name, v.slice(i + 1).trim()]];
}

/** The body text and whether a stream is asked for; a usage error message instead when the body file is unusable. */
async function bodyOf(
  o: LoadtestCliOptions,
  path: string,
): Promise<{ text: string; stream: boolean } | { error: string }> {
  if (o.body === undefined) {
    const body = defaultBody(path, {
      stream: o.stream === true,
      ...(o.model !== undefined && { model: o.model }),
      ...(o.prompt !== undefined && { prompt: o.prompt }),
    });
    return { text: JSON.stringify(body), stream: asksForStream(path, body) };
  }
  if (o.model !== undefined || o.prompt !== undefined)
    return { error: '--body is sent as is: leave out --model and --prompt' };
  let text: string;
  try {
    text = await readFile(o.body, 'utf8');
  } catch (err) {
    return { error: `--body ${o.body}: ${(err as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `--body ${o.body}: not JSON (${(err as Error).message})` };
  }
  return { text, stream: o.stream === true || asksForStream(path, parsed) };
}

/** Stops starting new requests on the first SIGINT/SIGTERM; a second one exits at once. Returns the uninstaller. */
function stopOnSignal(ac: AbortController, io: CliIo): () => void {
  const on = (): void => {
    if (ac.signal.aborted) process.exit(ExitCode.FAILURE);
    io.err('breakwater loadtest: stopping (requests in flight finish; signal again to quit)\n');
    ac.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}

/**
 * Registers `breakwater loadtest --url URL [--requests 1000] [--concurrency 50] [--stream] …`:
 * a load generator printing a summary by tier with latency percentiles. Exit 0 when it ran (errors
 * included, they are reported), 1 when no request could be sent, 2 on bad usage.
 */
export function registerLoadtest(program: Command, io: CliIo): void {
  program
    .command('loadtest')
    .description('send load to an LLM endpoint (the sidecar or an upstream) and summarize tiers and latency')
    .requiredOption('--url <url>', 'full URL, e.g. http://127.0.0.1:15001/v1/chat/completions', urlArg)
    .option(
      '--requests <n>',
      `requests to send (default ${DEFAULT_REQUESTS}; no limit with --duration)`,
      intArg(1, Number.MAX_SAFE_INTEGER),
    )
    .option(
      '--concurrency <n>',
      'requests in flight at once',
      intArg(1, MAX_CONCURRENCY),
      DEFAULT_CONCURRENCY,
    )
    .option('--stream', 'ask for streamed answers and check that each stream ends well')
    .option('--model <name>', 'model of the generated body (default llama-3.1-8b; llama3.1:8b on /api/…)')
    .option('--prompt <text>', 'user message of the generated body (default Hello)')
    .option('--body <file>', 'send this JSON file as the body instead of a generated one')
    .option('--header <name:value>', 'extra request header (repeatable)', headerArg)
    .option('--duration <duration>', 'stop starting new requests after this long, e.g. 30s', positiveDuration)
    .option(
      '--timeout <duration>',
      `limit of one request (default ${DEFAULT_TIMEOUT_MS / 1000}s)`,
      positiveDuration,
    )
    .option('--json', 'print the summary as JSON')
    .action(async (o: LoadtestCliOptions) => {
      const url = new URL(o.url);
      const body = await bodyOf(o, url.pathname);
      if ('error' in body) {
        io.err(`breakwater loadtest: ${body.error}\n`);
        process.exitCode = ExitCode.INVALID;
        return;
      }
      const ac = new AbortController();
      const options: LoadOptions = {
        url: o.url,
        body: body.text,
        headers: Object.fromEntries(o.header ?? []),
        requests: o.requests ?? (o.duration === undefined ? DEFAULT_REQUESTS : null),
        concurrency: o.concurrency,
        durationMs: o.duration ?? null,
        timeoutMs: o.timeout ?? DEFAULT_TIMEOUT_MS,
        stream: body.stream,
        signal: ac.signal,
      };
      const uninstall = stopOnSignal(ac, io);
      let result;
      try {
        result = await runLoad(options);
      } finally {
        uninstall();
      }
      const target = { url: o.url, concurrency: o.concurrency, stream: body.stream };
      const { summary } = result;
      io.out(
        o.json === true
          ? JSON.stringify(loadReport(target, summary), null, 2) + '\n'
          : formatSummary(target, summary),
      );
      if (summary.sent === 0) {
        io.err(`breakwater loadtest: no request could be sent to ${url.origin}\n`);
        process.exitCode = ExitCode.FAILURE;
      }
    });
}
