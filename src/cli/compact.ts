// `litefs-supervisor compact --db NAME [--dry-run] [--no-backup] [--json]`: asks the running
// supervisor on this machine, over its control socket, to compact a database (docs/design.md,
// "Compaction"). It prints the progress on stderr and the outcome on stdout, and exits with the
// outcome's code (COMPACT_EXIT). Interrupting it (Ctrl-C) closes the connection, which aborts the
// compaction unless LiteFS is already importing.

import { connect } from 'node:net';
import type { Config } from '../config/types.js';
import { COMPACT_EXIT, type CompactReply } from '../core/compact.js';
import { EXIT } from '../core/exit-code.js';
import { isRecord } from '../core/values.js';
import { controlSocketPath, encode } from './control.js';

export interface CompactArgs {
  dryRun: boolean;
  noBackup: boolean;
  json: boolean;
}

export async function runCompact(config: Config, args: CompactArgs): Promise<number> {
  const err = (s: string) => process.stderr.write(`litefs-supervisor compact: ${s}\n`);
  if (config.db.length !== 1) {
    err(
      `--db: give exactly one database to compact (got ${config.db.length === 0 ? 'none' : config.db.join(', ')}); use --db NAME`,
    );
    return EXIT.config;
  }
  const db = config.db[0]!;
  const path = controlSocketPath(config);
  if (path === undefined) {
    err(
      '--control-socket is off: the running supervisor cannot be asked; remove --control-socket off',
    );
    return EXIT.config;
  }
  const request = {
    op: 'compact',
    db,
    dryRun: args.dryRun,
    noBackup: args.noBackup,
    backupDir: args.noBackup ? undefined : config.backupDir,
  };
  return new Promise<number>((resolve) => {
    const socket = connect(path);
    let buf = '';
    let result: Extract<CompactReply, { kind: 'result' }> | undefined;
    const onSignal = () => {
      err('interrupted: the supervisor aborts the compaction (unless LiteFS is importing already)');
      socket.destroy();
      resolve(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const done = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(encode(request)));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (!isRecord(msg)) continue;
        if (msg.kind === 'progress') {
          if (args.json) process.stderr.write(`${line}\n`);
          else err(String(msg.msg));
        } else if (msg.kind === 'result') {
          result = msg as Extract<CompactReply, { kind: 'result' }>;
        }
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? 'no supervisor answers there (is it running on this machine, with the same --state-file or --control-socket?)'
          : e.code === 'EACCES'
            ? 'permission denied: the control socket is root-only; run as root (fly ssh console is)'
            : e.message;
      err(`cannot reach the supervisor at ${path}: ${why}`);
      done(COMPACT_EXIT.unreachable);
    });
    socket.on('close', () => {
      if (!result) {
        err(
          'the supervisor closed the connection without an outcome (it is stopping?): nothing was imported unless its log says compact.done',
        );
        done(COMPACT_EXIT.aborted);
        return;
      }
      if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(`${result.msg}\n`);
        const f = result.fields;
        if (Array.isArray(f.room)) for (const l of f.room) process.stdout.write(`  ${String(l)}\n`);
        if (typeof f.hint === 'string') process.stdout.write(`  ${f.hint}\n`);
      }
      done(result.code);
    });
  });
}
