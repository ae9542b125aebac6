// The option table's section "LiteFS": where LiteFS is (mount, data dir, API), the gated dbs,
// and when a replica counts as synced. schema.ts puts the sections together, in order, into
// OPTIONS; --help and docs/configuration.md show each under its heading.

import { DB_ACCEPTED, duration, list, parseDbName, text, url } from '../kinds.js';
import { LITEFS_DEFAULT_FUSE_DIR, LITEFS_DEFAULT_PORT } from '../litefs-yml.js';
import { option, section } from '../option.js';

export const LITEFS_OPTIONS = section('LiteFS', [
  option({
    name: 'mount-dir',
    kind: text('DIR', 'a directory path'),
    default: LITEFS_DEFAULT_FUSE_DIR,
    defaultHelp: `litefs.yml fuse.dir, else ${LITEFS_DEFAULT_FUSE_DIR}`,
    help: 'LiteFS FUSE mount directory.',
  }),
  option({
    name: 'data-dir',
    kind: text('DIR', 'a directory path'),
    defaultHelp: 'litefs.yml data.dir (LiteFS default /var/lib/litefs)',
    help: "LiteFS's internal directory: only read for free space and the --state-file default, never written.",
  }),
  option({
    name: 'litefs-url',
    kind: url(),
    default: `http://127.0.0.1:${LITEFS_DEFAULT_PORT}`,
    defaultHelp: `http://127.0.0.1: + port of litefs.yml http.addr, else ${LITEFS_DEFAULT_PORT}`,
    help: 'LiteFS HTTP API.',
  }),
  option({
    name: 'db',
    kind: list('NAME', DB_ACCEPTED, parseDbName, { unique: true }),
    defaultHelp: 'litefs.yml proxy.db',
    help: 'Database (file name in the mount) whose state gates migrations. At least one is required.',
  }),
  option({
    name: 'max-lag',
    kind: duration(),
    default: '10s',
    help: 'A replica is synced (and healthy) when its lag is at most this and every --db has arrived with a replicated position.',
  }),
  option({
    name: 'sync-timeout',
    kind: duration(),
    default: '10m',
    help: 'Waiting longer than this for LiteFS, a primary or sync exits 5; 0 waits forever.',
  }),
  option({
    name: 'poll-interval',
    // 0 would poll LiteFS in a busy loop.
    kind: duration({ positive: true }),
    default: '1s',
    help: 'How often /info and the mount files are read, besides the /events stream; while the app runs and /events is connected, every 10s (the lag routes of the health API still ask for a reading this fresh).',
  }),
]);
