// The option table's section "Migrations and the app": the commands before the app, and the
// app's restarts, readiness and shutdown. schema.ts puts the sections together, in order, into
// OPTIONS; --help and docs/configuration.md show each under its heading.

import { appReady, command, duration, int, oneOf } from '../kinds.js';
import { option, section } from '../option.js';

export const APP_OPTIONS = section('Migrations and the app', [
  option({
    name: 'setup',
    kind: command(),
    help: 'Shell command run on every node, one at a time, when the supervisor starts, before anything else (waiting for LiteFS, migrations, the app); a failure exits 3. For what prepares the machine, like a swap file.',
  }),
  option({
    name: 'migrate',
    kind: command(),
    help: 'Shell command run in order, on the primary only, once its database is synced.',
  }),
  option({
    name: 'migrate-timeout',
    kind: duration(),
    default: '10m',
    help: 'Time limit for each --migrate command.',
  }),
  option({
    name: 'migrate-retries',
    kind: int(0, 100),
    default: '3',
    help: 'Retries of a failed --migrate command while this node stays primary, after 1 s, 2 s, 4 s... (each re-confirmed). Then: exit 3 before the app started; with the app running, keep it and retry every 5 minutes.',
  }),
  option({
    name: 'before',
    kind: command(),
    help: 'Shell command run on every node once synced, before the app.',
  }),
  option({
    name: 'restart',
    kind: oneOf(['never', 'on-failure', 'always'] as const),
    default: 'never',
    help: 'App restart policy; backoff from --restart-delay doubling to 30s, at most --restart-max restarts in 10 minutes, then exit with the app code.',
  }),
  option({
    name: 'restart-delay',
    kind: duration(),
    default: '1s',
    help: 'Wait before the first restart of a crashed app; each restart in the 10 minutes doubles it, up to 30s (or this, when longer). 0 restarts at once every time (still at most --restart-max in 10 minutes).',
  }),
  option({
    name: 'restart-max',
    kind: int(0),
    default: '5',
    help: 'Most app restarts allowed in 10 minutes.',
  }),
  option({
    name: 'app-ready',
    kind: appReady(),
    default: 'none',
    defaultHelp: 'tcp://<litefs.yml proxy.target> when set, else none',
    help: 'When the app is ready: it accepts a TCP connection (tcp://HOST:PORT; localhost tries 127.0.0.1 and ::1), or a GET of an http(s) URL answers 2xx/3xx; none: at spawn. /health answers 200 only once it is ready.',
  }),
  option({
    name: 'app-ready-timeout',
    kind: duration({ positive: true }),
    default: '60s',
    help: 'An app not ready this long after it started is stopped, and the run exits 6.',
  }),
  option({
    name: 'shutdown-timeout',
    kind: duration(),
    default: '3s',
    help: 'After forwarding a signal, SIGKILL the process group after this. Keep it below fly.toml kill_timeout (default 5s): LiteFS still needs time to release the lease.',
  }),
]);
