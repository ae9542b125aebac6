// `litefs-supervisor check`: the validated configuration as a plan a person can read before
// deploying: what runs where, and where each value came from.

import { configForDisplay, type LoadResult } from '../config/load.js';
import { OPTIONS } from '../config/schema.js';
import type { Config } from '../config/types.js';
import { dbViewOf } from '../core/derive.js';
import { formatDuration } from '../core/duration.js';
import { formatTxid } from '../core/parse.js';
import { observe, observeStandalone } from '../litefs/observe.js';

/**
 * Local evidence per db (content evidence, docs/design.md section 3), read from the mount only:
 * check asks nothing of the LiteFS API and writes nothing, and on a laptop the mount is usually not
 * there at all.
 */
export async function localEvidenceLines(config: Config): Promise<string[]> {
  const now = () => Date.now();
  const obs = config.standalone
    ? await observeStandalone({ mountDir: config.mountDir, dbs: config.db, now })
    : await observe({
        client: { info: async () => ({ ok: false, error: 'not asked by check' }) },
        mountDir: config.mountDir,
        dbs: config.db,
        now,
      });
  return obs.dbs.map((db) => {
    if (db.error !== undefined) return `    ${db.name}: not readable here (${db.error})`;
    const v = dbViewOf(db, config.standalone);
    const pages = v.pageCount === undefined ? 'pages unknown' : `${v.pageCount} pages`;
    const txid = config.standalone
      ? ''
      : `, TXID ${v.txid === undefined ? '-' : formatTxid(v.txid)}`;
    const lost = config.standalone ? '' : `, historyLost ${v.historyLost}`;
    const empty = v.empty ? ` (empty: ${v.emptyBecause})` : '';
    return `    ${db.name}: ${pages}${txid}, hasData ${v.hasData}${lost}${empty}`;
  });
}

export async function printPlan(
  loaded: Extract<LoadResult, { ok: true }>,
  version: string,
): Promise<void> {
  const c = configForDisplay(loaded.config);
  const out: string[] = [`litefs-supervisor ${version}: configuration is valid.`, ''];
  const list = (items: string[], none: string) =>
    items.length === 0 ? [`    ${none}`] : items.map((x, i) => `    ${i + 1}. ${x}`);
  out.push(
    c.standalone
      ? 'Mode: standalone (no LiteFS). This node acts as the primary; each --db is a plain file.'
      : `Mode: under LiteFS. API ${c.litefsUrl}, mount ${c.mountDir}, data dir ${c.dataDir ?? '(unknown)'}.`,
    `litefs.yml: ${loaded.litefsYml ? loaded.litefsYml.path : 'none read'}`,
    `Databases that gate migrations: ${c.db.join(', ')}`,
    `Local evidence (${c.mountDir}; run \`litefs-supervisor doctor\` for a diagnosis):`,
    ...(await localEvidenceLines(loaded.config)),
    '',
    'First, on every node, when the supervisor starts (one at a time, a failure exits 3):',
    ...list(c.setup, 'no --setup commands'),
    '',
    c.standalone
      ? 'Migrations (run in order, stop at the first failure):'
      : 'On the primary only, with a synced, non-empty database or a new cluster (--bootstrap ' +
          `${c.bootstrap}), each re-confirmed with a fresh /info:`,
    ...list(c.migrate, 'no --migrate commands'),
    `    timeout ${formatDuration(c.migrateTimeout)} each`,
    '',
    'Then on every node, once synced (replicas: lag within ' +
      `${formatDuration(c.maxLag)}), before the app:`,
    ...list(c.before, 'no --before commands'),
    '',
    `App: ${c.command.length > 0 ? c.command.join(' ') : '(none given; required to run)'}`,
    `    restart ${c.restart}${c.restart === 'never' ? '' : ` (backoff from ${formatDuration(c.restartDelay)}, at most ${c.restartMax} in 10 minutes)`}, ` +
      `SIGKILL ${formatDuration(c.shutdownTimeout)} after a forwarded stop signal`,
    `    ready when ${c.appReady === 'none' ? 'spawned (--app-ready none)' : `${c.appReady} answers`}${c.appReady === 'none' ? '' : ` (within ${formatDuration(c.appReadyTimeout)}, else exit 6)`}`,
    ...(c.standalone ? [] : [handBackLine(c)]),
    `Health API: ${c.healthAddr === 'off' ? 'off' : `${c.healthAddr.host || '*'}:${c.healthAddr.port}`}`,
    `Waiting for LiteFS/primary/sync: ${c.syncTimeout === 0 ? 'forever' : `up to ${formatDuration(c.syncTimeout)}, then exit 5`}`,
    `State file: ${c.stateFile}`,
    c.clusterRecord === undefined || c.consul === undefined
      ? 'Cluster record: off (an empty primary is judged by the peers that answer alone)'
      : `Cluster record: ${c.clusterRecord} in the lease's Consul at ${c.consul.origin}${c.consul.prefix === '' ? '' : ` (prefix ${c.consul.prefix})`}, token ${c.consul.token ? 'given' : 'none'}; an empty primary is fenced while it lists the db (\`litefs-supervisor record\` shows it)`,
  );
  if (loaded.warnings.length > 0) {
    out.push('', 'Warnings:', ...loaded.warnings.map((w) => `  - ${w}`));
  }
  const sourced = OPTIONS.flatMap((o) => {
    const s = loaded.sources[o.name];
    if (!s || s.layer === 'default') return [];
    const where =
      s.layer === 'environment'
        ? `env ${s.name}`
        : s.layer === 'config file'
          ? `${s.path} (${s.key})`
          : s.layer === 'litefs.yml'
            ? `litefs.yml ${s.key}`
            : 'command line';
    return [`  ${o.flag}: ${where}`];
  });
  if (sourced.length > 0) out.push('', 'Set from:', ...sourced);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** S14, as the plan says it: where the lease goes while this primary's app cannot serve. */
function handBackLine(c: Pick<Config, 'handBack' | 'peers'>): string {
  if (c.handBack === 'off') {
    return 'While the app cannot serve (booting, between migration tries, waiting to restart): the primary keeps the lease (--hand-back off)';
  }
  if (c.peers === undefined) {
    return 'While the app cannot serve: the primary keeps the lease (--hand-back on needs --peers to find a node whose app is ready)';
  }
  return 'While the app cannot serve (booting, between migration tries, waiting to restart): the lease goes to a synced candidate whose app is ready, and comes back (--hand-back on; migrations must be expand/contract)';
}
