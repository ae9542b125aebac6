// The option table's section "Backups and disk": backups before migrations and the free-space
// guard. schema.ts puts the sections together, in order, into OPTIONS; --help and
// docs/configuration.md show each under its heading.

import { int, percent, text } from '../kinds.js';
import { option, section } from '../option.js';

export const BACKUP_OPTIONS = section('Backups and disk', [
  option({
    name: 'backup-dir',
    kind: text('DIR', 'a directory path'),
    defaultHelp: 'off',
    help: 'Save a copy of each database here before migrating it.',
  }),
  option({
    name: 'backup-keep',
    kind: int(1),
    default: '3',
    help: 'Number of backups kept per database.',
  }),
  option({
    name: 'min-free-disk',
    kind: percent(),
    default: '10',
    help: 'Do not migrate (exit 3), and skip backups, when less than this percent of the data volume is free; a running supervisor then logs disk.low (every 5 minutes) and keeps the app running.',
  }),
]);
