// /metrics in Prometheus text format, written by hand: a dozen gauges and counters do not
// justify prom-client's default collectors and registry on every node.

import type { Config } from '../config/types.js';
import { dbViewsOf, syncOf } from '../core/derive.js';
import type { Phase, SupervisorState } from '../core/state.js';

const PHASES: Phase[] = [
  'starting',
  'waiting-for-litefs',
  'waiting-for-primary',
  'syncing',
  'promoting',
  'checking',
  'fenced',
  'backing-up',
  'migrating',
  'starting-app',
  'running',
  'restarting',
  'compacting',
  'stopping',
];

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(
  s: SupervisorState,
  config: Config,
  version: string,
  now: number,
): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric('litefs_supervisor_info', 'gauge', 'Version of the supervisor.', [
    [`{version="${label(version)}"}`, 1],
  ]);
  metric(
    'litefs_supervisor_state',
    'gauge',
    'Current state (1 for the current one).',
    PHASES.map((p) => [`{state="${p}"}`, p === s.phase ? 1 : 0]),
  );
  metric('litefs_supervisor_state_seconds', 'gauge', 'Seconds in the current state.', [
    ['', (now - s.since) / 1000],
  ]);
  metric(
    'litefs_supervisor_role',
    'gauge',
    'Role of this node (1 for the current one).',
    (['primary', 'replica', 'unknown'] as const).map((r) => [
      `{role="${r}"}`,
      r === s.role ? 1 : 0,
    ]),
  );
  const lag = s.role === 'primary' ? 0 : syncOf(s.observation, config.maxLag).lagMs;
  if (lag !== undefined) {
    metric('litefs_supervisor_lag_seconds', 'gauge', 'Replication lag from .lag.', [
      ['', lag / 1000],
    ]);
  }
  const dbs = dbViewsOf(s.observation, config).filter((db) => db.txid !== undefined);
  if (dbs.length > 0) {
    metric(
      'litefs_supervisor_db_txid',
      'gauge',
      'TXID of each gated database.',
      dbs.map((db) => [`{db="${label(db.name)}"}`, Number(db.txid)]),
    );
  }
  const results = ['done', 'failed', 'timed-out', 'aborted'] as const;
  metric(
    'litefs_supervisor_migrations',
    'gauge',
    'Migration commands by result in this run.',
    results.map((r) => [
      `{result="${r}"}`,
      s.commands.filter((c) => c.kind === 'migrate' && c.status === r).length,
    ]),
  );
  const retry = s.commands.filter((c) => c.kind === 'migrate' && c.retryAt !== undefined);
  metric(
    'litefs_supervisor_migration_failures',
    'gauge',
    'Failed tries of migrations still waiting to be retried in this primary term (S1 retries).',
    [['', retry.reduce((n, c) => n + c.failures, 0)]],
  );
  if (retry.length > 0) {
    metric(
      'litefs_supervisor_migration_retry_timestamp_seconds',
      'gauge',
      'When the failed migration is tried next (Unix time).',
      [['', Math.min(...retry.map((c) => c.retryAt!)) / 1000]],
    );
  }
  metric('litefs_supervisor_app_restarts_total', 'counter', 'App restarts by the restart policy.', [
    ['', s.app.restarts],
  ]);
  metric('litefs_supervisor_app_up', 'gauge', 'Whether the app is running.', [
    ['', s.app.status === 'running' ? 1 : 0],
  ]);
  metric('litefs_supervisor_fences_total', 'counter', 'Times this node was fenced.', [
    ['', s.fences],
  ]);
  metric(
    'litefs_supervisor_rewind_alarms_total',
    'counter',
    'A new primary was behind this replica (S11): its data is about to be overwritten.',
    [['', s.rewindAlarms]],
  );
  const disk = s.observation?.disk;
  if (disk?.ok && disk.totalBytes > 0) {
    metric('litefs_supervisor_disk_free_bytes', 'gauge', 'Free bytes on the data volume.', [
      ['', disk.freeBytes],
    ]);
    metric('litefs_supervisor_disk_total_bytes', 'gauge', 'Size of the data volume in bytes.', [
      ['', disk.totalBytes],
    ]);
    metric(
      'litefs_supervisor_disk_low',
      'gauge',
      'Whether the data volume is below --min-free-disk (the low-disk alarm; the app keeps running).',
      [['', s.diskLow ? 1 : 0]],
    );
  }
  const hwm = Object.entries(s.hwm.dbs);
  if (hwm.length > 0) {
    metric(
      'litefs_supervisor_db_hwm',
      'gauge',
      'High-water mark (largest TXID seen) of each gated database.',
      hwm.map(([name, txid]) => [`{db="${label(name)}"}`, Number(txid)]),
    );
  }
  return `${out.join('\n')}\n`;
}
