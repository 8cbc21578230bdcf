import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Options of the process logger. */
export interface LoggerOptions {
  /** pino level; default `info`. */
  level?: LevelWithSilent;
  /** Destination; default stdout (fd 1). */
  destination?: NodeJS.WritableStream | number;
}

/**
 * Paths never logged: credentials in headers and in the policy. Bodies are never logged at all.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  'token',
  '*.token',
  'password',
  '*.password',
];

/** The JSON-lines logger of long-running commands. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const dest =
    typeof options.destination === 'object'
      ? options.destination
      : pino.destination({ dest: options.destination ?? 1, sync: false });
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'breakwater' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  );
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
