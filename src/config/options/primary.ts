// The option table's section "Primary safety": promotion, handover, bootstrap, and the evidence
// a primary is checked against (peers, the cluster record, the state file) and its fence.
// schema.ts puts the sections together, in order, into OPTIONS; --help and
// docs/configuration.md show each under its heading.

import { boolean, consulKey, duration, int, oneOf, peers, text } from '../kinds.js';
import { option, section } from '../option.js';

export const PRIMARY_OPTIONS = section('Primary safety', [
  option({
    name: 'promote',
    kind: boolean(),
    help: 'Sync-first promotion: a candidate asks for the lease only once synced and not behind. Use with lease.promote: false.',
  }),
  option({
    name: 'promote-timeout',
    // 0 would repeat POST /promote in a busy loop.
    kind: duration({ positive: true }),
    default: '30s',
    help: 'Wait this long for the lease after asking for it, then ask again.',
  }),
  option({
    name: 'promote-when',
    kind: oneOf(['new-version', 'always'] as const),
    default: 'new-version',
    help: "With --promote, when a synced candidate asks for the lease: new-version (only when the primary's supervisor reports another app version than --version-env gives here, or none: the lease moves once per deploy) or always (every start asks).",
  }),
  option({
    name: 'version-env',
    kind: text('NAME', 'an environment variable name'),
    default: 'FLY_IMAGE_REF',
    help: 'Environment variable that holds this app version (Fly sets FLY_IMAGE_REF per deploy); reported in /status and compared by --promote-when new-version.',
  }),
  option({
    name: 'handoff-timeout',
    kind: duration(),
    default: '1s',
    help: 'On SIGTERM/SIGINT a primary first hands the lease to the most advanced synced candidate and waits up to this for LiteFS to show the move, then stops its app (--shutdown-timeout). 0 stops at once. Keep both within fly.toml kill_timeout (default 5s).',
  }),
  option({
    name: 'hand-back',
    kind: oneOf(['on', 'off'] as const),
    default: 'on',
    help: "on: a primary whose app cannot serve writes (booting after its migrations, a failed migration waiting for its next try, a crashed app waiting to restart) hands the lease to a synced candidate whose app is ready, and takes it back once its app is ready (or its migration's next try is due). The old version then serves on the migrated schema: migrations must be expand/contract. off: the lease stays while the app boots (for migrations the old version cannot run against).",
  }),
  option({
    name: 'on-promotion',
    kind: oneOf(['migrate', 'none'] as const),
    default: 'migrate',
    help: 'What a replica with a running app does when it becomes primary.',
  }),
  option({
    name: 'bootstrap',
    kind: oneOf(['auto', 'never', 'force'] as const),
    default: 'auto',
    help: 'Whether an empty primary may initialise a new cluster: auto (only if every peer answered and none has data), never, force.',
  }),
  option({
    name: 'peers',
    kind: peers(),
    defaultHelp: `\${FLY_APP_NAME}.internal when FLY_APP_NAME is set`,
    help: 'Other LiteFS nodes to compare positions with: a DNS name (each A/AAAA record at the LiteFS port) or LiteFS URLs.',
  }),
  option({
    name: 'cluster-record',
    kind: consulKey(),
    defaultHelp: `litefs-supervisor/\${FLY_APP_NAME} when FLY_APP_NAME is set, else litefs-supervisor/<lease.consul.key>; off without a Consul lease`,
    help: "Consul key (under lease.consul.url's path) where primaries record that the cluster has data, so an empty primary is fenced even when the nodes holding the data are stopped; off disables it.",
  }),
  option({
    name: 'peer-health-port',
    kind: int(1, 65535),
    defaultHelp: 'the port of --health-addr',
    help: "Port of the peers' supervisor health API, asked for their evidence (GET /status) before LiteFS alone. A URL in --peers may name its own with #health=PORT.",
  }),
  option({
    name: 'peer-wait',
    kind: duration(),
    default: '30s',
    help: 'How long to wait for unanswered peers before fencing.',
  }),
  option({
    name: 'state-file',
    kind: text('PATH', 'a file path'),
    default: '/var/lib/litefs-supervisor.json',
    defaultHelp:
      '<parent of data dir>/litefs-supervisor.json, else /var/lib/litefs-supervisor.json',
    help: 'Where the highest TXID seen per database is kept. Put it on the same volume as the LiteFS data dir.',
  }),
  option({
    name: 'fence-timeout',
    kind: duration(),
    default: '60s',
    help: 'A fenced node still primary after this exits 4, so LiteFS releases the lease (not a history-lost holder whose high-water mark says its rows are the newest: it keeps the lease, S13).',
  }),
]);
