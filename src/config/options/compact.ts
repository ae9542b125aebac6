// The option table's section "Compaction": `litefs-supervisor compact` (docs/design.md,
// "Compaction") and the local control socket it asks the running supervisor through. schema.ts
// puts the sections together, in order, into OPTIONS; --help and docs/configuration.md show each
// under its heading.

import { duration, percent, text } from '../kinds.js';
import { option, section } from '../option.js';

export const COMPACT_OPTIONS = section('Compaction', [
  option({
    name: 'control-socket',
    kind: text('PATH', 'a file path, or off'),
    defaultHelp: '<directory of --state-file>/litefs-supervisor.sock',
    help: "Unix socket (mode 0600, the supervisor's user: root under LiteFS) where `litefs-supervisor compact` asks the running supervisor; off disables it. Never on the network.",
  }),
  option({
    name: 'compact-dir',
    kind: text('DIR', 'a directory path'),
    defaultHelp: 'the parent of the LiteFS data dir',
    help: 'Where compaction writes its compacted copy: on the data volume, outside the data dir and the mount (a file in the mount becomes a replicated database).',
  }),
  option({
    name: 'compact-timeout',
    kind: duration({ positive: true }),
    default: '5m',
    help: 'A compaction not at its import by then is aborted: nothing imported, the copy removed, the app started again.',
  }),
  option({
    name: 'compact-threshold',
    kind: percent(),
    default: '10',
    help: 'Compaction does nothing (no import, the app never stopped) when free pages are below this percent of the database.',
  }),
  option({
    name: 'sqlite3',
    kind: text('PATH', 'a command name or path'),
    default: 'sqlite3',
    help: 'The sqlite3 command-line shell compaction runs VACUUM INTO and its checks with (Debian: apt-get install sqlite3).',
  }),
]);
