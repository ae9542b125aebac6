// `litefs-supervisor status`: ask a running supervisor's health API for /status and print it.
// Exit 0 when healthy, 1 when it answers but is not healthy (or does not answer).

import { statusHealthUrl } from '../config/load.js';
import type { StatusSnapshot } from '../core/health.js';

export async function runStatus(
  healthUrl: string | undefined,
  json: boolean,
  env: Record<string, string | undefined>,
): Promise<number> {
  const base = statusHealthUrl(healthUrl, env).replace(/\/+$/, '');
  let body: StatusSnapshot;
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
    body = (await res.json()) as StatusSnapshot;
  } catch (err) {
    process.stderr.write(
      `litefs-supervisor status: no answer from ${base}/status: ${(err as Error).message}\n` +
        'Is the supervisor running, and is --health-url (or LITEFS_SUPERVISOR_HEALTH_ADDR) right?\n',
    );
    return 1;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return body.healthy ? 0 : 1;
  }
  const lines = [
    `state:   ${body.state} since ${body.since} (${body.reason})`,
    `health:  ${body.healthy ? 'healthy' : 'unhealthy'}: ${body.healthReason}`,
    `role:    ${body.role}${body.primaryHostname ? ` (primary: ${body.primaryHostname})` : ''}${body.lagMs === null ? '' : `, lag ${body.lagMs}ms`}`,
    ...body.dbs.map(
      (db) =>
        `db:      ${db.name} txid=${db.txid ?? '-'} size=${db.sizeBytes} pages=${db.pageCount ?? '-'}${db.empty ? ` empty (${db.emptyBecause})` : db.historyLost ? ' HISTORY LOST (data at TXID 0)' : db.hasData ? ' has data' : ''}`,
    ),
    ...body.migrations.map(
      (m) =>
        `${m.kind.padEnd(8)} ${m.state}${m.exitCode === null ? '' : ` (exit ${m.exitCode})`}: ${m.command}`,
    ),
    `record:  ${describeRecordStatus(body.clusterRecord)}`,
    `app:     ${body.app.state}${body.app.pid ? ` pid ${body.app.pid}` : ''}, restarts ${body.app.restarts}`,
    `version: ${body.version}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return body.healthy ? 0 : 1;
}

/** The cluster record line of `status` (a supervisor that predates the field shows none). */
function describeRecordStatus(r: StatusSnapshot['clusterRecord'] | undefined): string {
  if (r === undefined) return 'not reported';
  if (r.state === 'off') return 'off';
  if (r.state === 'present') {
    const dbs = r.dbs.map((d) => `${d.name} since ${d.since} (${d.node})`).join(', ');
    return `${r.key}: ${dbs === '' ? 'no db with data' : `data in ${dbs}`}`;
  }
  if (r.state === 'unreadable') return `${r.key}: unreadable (${r.error})`;
  return `${r.key}: ${r.state}`;
}
