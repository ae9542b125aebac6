// The control socket (docs/design.md, "Control channel"): a Unix socket, mode 0600 (the
// supervisor's user: root under LiteFS), never the network. It lets a local process with that
// user's rights do one thing: ask the running supervisor for a compaction (or a dry run) of a
// gated database, follow its progress, and abort it by closing the connection. The health API
// stays read-only. One request per connection, newline-delimited JSON both ways.

import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Config } from '../config/types.js';
import type { CompactReply, CompactRequest } from '../core/compact.js';
import { isRecord } from '../core/values.js';
import type { Logger } from '../ports.js';

/** The socket's path: --control-socket, else beside the state file; undefined when off. */
export function controlSocketPath(
  config: Pick<Config, 'controlSocket' | 'stateFile'>,
): string | undefined {
  if (config.controlSocket === 'off') return undefined;
  return config.controlSocket ?? join(dirname(config.stateFile), 'litefs-supervisor.sock');
}

/** A request line, checked: `{"op":"compact","db":"...","dryRun":bool,"noBackup":bool,"backupDir"?}`. */
export function parseRequest(line: string): Omit<CompactRequest, 'id'> | string {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return 'the request is not JSON';
  }
  if (!isRecord(body) || body.op !== 'compact') return 'the request is not {"op":"compact",...}';
  if (typeof body.db !== 'string' || body.db === '') return 'the request names no db';
  if (body.backupDir !== undefined && typeof body.backupDir !== 'string')
    return 'backupDir is not a path';
  return {
    db: body.db,
    dryRun: body.dryRun === true,
    noBackup: body.noBackup === true,
    backupDir: body.backupDir as string | undefined,
  };
}

export function encode(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

export interface ControlServer {
  path: string;
  reply(id: number, reply: CompactReply): void;
  close(): Promise<void>;
}

/**
 * Listens on `path` (0600). A socket file left by a supervisor that died is replaced; one a
 * running supervisor answers on, or any other kind of file, is left alone (undefined: no channel).
 */
export async function listenControl(
  path: string,
  handlers: { request(req: CompactRequest): void; gone(id: number): void },
  logger: Logger,
): Promise<ControlServer | undefined> {
  // Linux cuts a longer socket path silently (sun_path is 108 bytes): the socket would be made
  // where nobody looks.
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    logger.log(
      'warn',
      { event: 'control.fail', path },
      `${path} is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH}); no control channel: pass a shorter --control-socket PATH`,
    );
    return undefined;
  }
  try {
    return await listen(path, handlers, logger);
  } catch (err) {
    logger.log(
      'warn',
      { event: 'control.fail', path, err },
      `cannot listen on ${path}: ${(err as Error).message}; no control channel (compact cannot reach this supervisor)`,
    );
    return undefined;
  }
}

/** sun_path's 108 bytes, less the terminating NUL. */
const MAX_SOCKET_PATH = 107;

async function listen(
  path: string,
  handlers: { request(req: CompactRequest): void; gone(id: number): void },
  logger: Logger,
): Promise<ControlServer | undefined> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) {
      logger.log(
        'warn',
        { event: 'control.fail', path },
        `${path} exists and is not a socket; no control channel (compact cannot reach this supervisor): pass --control-socket PATH`,
      );
      return undefined;
    }
    if (await answers(path)) {
      logger.log(
        'warn',
        { event: 'control.fail', path },
        `another supervisor answers on ${path}; no control channel here: pass --control-socket PATH`,
      );
      return undefined;
    }
    await unlink(path).catch(() => undefined);
  }
  const conns = new Map<number, { socket: Socket; done: boolean }>();
  let nextId = 1;
  const server: Server = createServer((socket) => {
    const id = nextId++;
    const conn = { socket, done: false };
    conns.set(id, conn);
    let buf = '';
    let asked = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (asked) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl === -1) {
        if (buf.length > 4096) socket.destroy();
        return;
      }
      asked = true;
      const req = parseRequest(buf.slice(0, nl));
      if (typeof req === 'string') {
        conn.done = true;
        socket.end(
          encode({
            kind: 'result',
            code: 2,
            outcome: 'refused',
            msg: `bad request: ${req}`,
            fields: {},
          }),
        );
        return;
      }
      handlers.request({ id, ...req });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      conns.delete(id);
      if (asked && !conn.done) handlers.gone(id);
    });
  });
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch (err) {
    logger.log(
      'warn',
      { event: 'control.fail', path, err },
      `cannot listen on ${path}: ${(err as Error).message}; no control channel`,
    );
    return undefined;
  } finally {
    process.umask(old);
  }
  await chmod(path, 0o600);
  logger.log(
    'info',
    { event: 'control.listen', path },
    `control socket listening on ${path} (mode 0600): litefs-supervisor compact asks here`,
  );
  return {
    path,
    reply(id, reply) {
      const conn = conns.get(id);
      if (!conn || conn.done) return;
      if (reply.kind === 'result') {
        conn.done = true;
        conn.socket.end(encode(reply));
      } else {
        conn.socket.write(encode(reply));
      }
    },
    async close() {
      for (const c of conns.values()) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(path).catch(() => undefined);
    },
  };
}

/** Whether a process accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
