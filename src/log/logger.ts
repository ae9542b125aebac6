// One pino root logger for the whole process (docs/design.md section 12, point 7), written synchronously to
// stderr so the last lines before an exit are never lost.

import { writeSync } from 'node:fs';
import { pino } from 'pino';
import type { LogLevel as ConfigLogLevel, LogFormat } from '../config/types.js';
import type { LogLevel } from '../core/state.js';
import type { Logger } from '../ports.js';
import { formatRecord } from './format.js';

export interface RootLogger extends Logger {
  pino: pino.Logger;
}

export function createLogger(opts: {
  format: LogFormat;
  level: ConfigLogLevel;
  write?: (line: string) => void;
}): RootLogger {
  const write = opts.write ?? ((line: string) => writeSync(2, line));
  const destination = {
    write: (json: string) => write(formatRecord(json, opts.format, new Date())),
  };
  const root = pino(
    {
      level: opts.level,
      base: undefined,
      timestamp: opts.format === 'json' ? pino.stdTimeFunctions.isoTime : false,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    pino: root,
    log(level: LogLevel, fields: Record<string, unknown>, msg: string) {
      root[level](fields, msg);
    },
  };
}
