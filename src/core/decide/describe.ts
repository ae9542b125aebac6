// How decide writes databases, peers and command output into its log lines.

import type { DbView } from '../derive.js';
import { formatTxid } from '../parse.js';
import type { PeerAnswer } from '../peer-types.js';

export function describeDb(db: DbView): string {
  const txid = db.txid === undefined ? '-' : formatTxid(db.txid);
  const pages = db.pageCount === undefined ? '' : `/${db.pageCount}p`;
  const note = db.empty ? '(empty)' : db.historyLost ? '(history lost)' : '';
  return `${db.name}@${txid}${pages}${note}`;
}

export function describePeer(p: PeerAnswer): string {
  if (!p.ok) return 'no answer';
  const dbs = Object.entries(p.dbs).map(
    ([n, d]) => `${n}@${formatTxid(d.txid)}/${d.pageCount ?? '?'}p${d.hasData ? '' : '(no data)'}`,
  );
  return `${p.nodeId}${p.isPrimary ? '(primary)' : ''}${p.candidate ? '' : '(not candidate)'}[${p.evidence}]:${dbs.join('+')}`;
}

/** Every answer of a peer report, for a log field (undefined when there were none). */
export function describeAnswers(answers: PeerAnswer[]): string | undefined {
  return (
    answers.map((a) => `${a.url}@${a.ok ? describePeer(a) : 'no answer'}`).join(',') || undefined
  );
}

/** The last lines of a command's output, as one log field (undefined when there were none). */
export function tailOf(lines: string[] | undefined): string | undefined {
  return lines && lines.length > 0 ? lines.join('\n') : undefined;
}

/** The high-water mark per db, for a log field. */
export function describeHwm(dbs: Record<string, bigint>): string | undefined {
  return (
    Object.entries(dbs)
      .map(([n, t]) => `${n}@${formatTxid(t)}`)
      .join(',') || undefined
  );
}
