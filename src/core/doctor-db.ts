// doctor's findings about each gated db (--db): what it holds and where that was read (the mount
// while LiteFS runs, else LiteFS's own file in the data dir at the position it would restore),
// its header, its LTX history (S13: lost now, or lost at LiteFS's next start; damaged files; a
// database file shorter than that history, which LiteFS will not open: doctor-truncated.ts),
// an uncopied WAL, and whether it is behind this node's high-water mark (S2) or a peer.

import { clusterIdOf, type DbView, dbViewOf } from './derive.js';
import type { DoctorFacts } from './doctor-facts.js';
import { type DoctorDb, type Finding, hex, NEVER_EDIT, repair } from './doctor-report.js';
import { truncatedFinding } from './doctor-truncated.js';
import type { DbObservation } from './observation.js';
import { peersAhead } from './peers.js';
import type { Policy } from './policy.js';
import type { Role } from './state.js';

interface DbResult {
  db: DoctorDb;
  findings: Finding[];
}

export function dbFindings(
  f: DoctorFacts,
  config: Policy,
  name: string,
  index: number,
  role: Role | null,
  nodeClusterId: string,
): DbResult {
  const out: Finding[] = [];
  const add = (x: Omit<Finding, 'db'>) => out.push({ ...x, db: name });
  const mountDb = f.observation.dbs[index];
  const dataDb = f.dataDir?.dbs[index];
  const ltx = dataDb?.ltx;
  const ltxOk = ltx?.ok ? ltx : undefined;
  const running = !config.standalone && f.observation.info.ok;

  // Content: the mount while LiteFS runs (its live view, WAL included); else LiteFS's own file
  // in the data dir, at the position LiteFS would restore from the highest LTX file.
  let source: DoctorDb['source'] = 'none';
  let content: DbObservation | undefined;
  if (config.standalone || (running && mountDb && mountDb.error === undefined)) {
    if (mountDb) {
      source = 'mount';
      content = mountDb;
    }
  } else if (dataDb && dataDb.database.error === undefined && ltx?.ok !== false) {
    source = 'data-dir';
    content = {
      name,
      ...dataDb.database,
      pos:
        ltxOk?.maxTxid !== undefined
          ? {
              kind: 'present',
              value: { txid: ltxOk.maxTxid, checksum: ltxOk.latestChecksum ?? '' },
            }
          : { kind: 'present', value: { txid: 0n, checksum: '0'.repeat(16) } },
    };
  }
  const view: DbView | undefined = content ? dbViewOf(content, config.standalone) : undefined;
  const hwm =
    f.state.kind === 'ok' &&
    (nodeClusterId === '' || f.state.clusterId === '' || f.state.clusterId === nodeClusterId)
      ? f.state.dbs[name]
      : undefined;

  if (!view) {
    const why =
      (running ? mountDb?.error : undefined) ??
      dataDb?.database.error ??
      (ltx && !ltx.ok ? ltx.error : undefined) ??
      (f.dataDir === undefined ? 'LiteFS is not running and no data dir is known' : 'not readable');
    add({
      id: 'db.unreadable',
      level: 'warn',
      summary: `${name} could not be examined: ${why}`,
      means:
        'its state is unknown; the supervisor treats an unreadable db as neither empty nor safe and waits',
      wayOut:
        'fix the read error (volume, permissions, LiteFS mount); pass --data-dir or --litefs-config if the data dir is elsewhere',
    });
  } else {
    const pages =
      view.pageCount === undefined
        ? 'no page count'
        : `${view.pageCount} page${view.pageCount === 1 ? '' : 's'} of ${view.pageSize} bytes`;
    const txidFrom =
      source === 'mount'
        ? `${name}-pos`
        : ltxOk?.latest
          ? `LTX file ${ltxOk.latest}`
          : 'no LTX file';
    const ltxText = config.standalone
      ? ''
      : ltxOk
        ? ltxOk.count === 0
          ? ', no LTX files'
          : `, ${ltxOk.count} LTX file${ltxOk.count === 1 ? '' : 's'} (TXID ${hex(ltxOk.minTxid ?? 0n)}-${hex(ltxOk.maxTxid ?? 0n)})`
        : '';
    const where = source === 'mount' ? 'in the mount' : `in ${dataDb?.dir}/database`;

    // Header validity: LiteFS 0.5.11 clears a db whose file is not SQLite at its next start.
    if (view.exists && view.sizeBytes > 0 && !view.validHeader) {
      add({
        id: 'db.header-invalid',
        level: 'error',
        summary: `${name} ${where} is ${view.sizeBytes} bytes without a SQLite header`,
        means: config.standalone
          ? 'SQLite cannot open it; the app and the migrations will fail'
          : 'LiteFS 0.5.11 deletes this db\'s directory, LTX history included, at its next start ("invalid database header ... clearing data files", db.go); whatever it held is then gone from this node',
        wayOut: config.standalone
          ? 'restore the file from a backup'
          : `if the file holds anything you need, copy ${dataDb?.dir ?? name}/database somewhere safe before LiteFS starts again; then restore from a backup, or let this node receive the db from a primary that has it; ${NEVER_EDIT}`,
      });
    } else if (view.validHeader && view.pageSize === undefined) {
      add({
        id: 'db.header-invalid',
        level: 'error',
        summary: `${name} ${where} has a damaged SQLite header (no valid page size)`,
        means: 'SQLite and LiteFS cannot read this database',
        wayOut: `restore from a backup; ${NEVER_EDIT}`,
      });
    } else if (view.exists && view.sizeBytes > 0) {
      add({
        id: 'db.content',
        level: view.historyLost ? 'info' : 'ok',
        summary: `${name}: ${pages}, TXID ${hex(view.txid ?? 0n)} (from ${txidFrom})${ltxText}`,
        means: view.hasData ? 'it holds data' : `no table yet (${view.emptyBecause})`,
      });
    }

    if (view.empty && !(view.exists && view.sizeBytes > 0 && !view.validHeader)) {
      add({
        id: 'db.empty',
        level: 'info',
        summary: `${name} is empty here: ${view.emptyBecause}`,
        means:
          role === 'primary'
            ? 'as primary, the supervisor runs the migrations on it only after every peer answered without data (S3), or refuses and hands the lease over (S2)'
            : 'a new node, or a replica that has not received it yet; it must not become primary while another node holds the data',
      });
    }

    if (!config.standalone) {
      const truncated = truncatedFinding(f, name, dataDb, running);
      if (truncated) add(truncated);
      if (view.historyLost) {
        add({
          id: 'db.history-lost',
          level: 'error',
          summary: `${name} holds ${pages} at TXID 0: ${source === 'mount' ? `LiteFS reports no position (${name}-pos 0000000000000000)` : `no LTX file in ${dataDb?.dir}/ltx`}`,
          means:
            'LiteFS lost this db\'s transaction history (the seed incident\'s data holder). On a primary its next write is a TXID 1 snapshot that replaces the db on every replica, or fails ("nonsequential page numbers"), or (WAL mode) makes LiteFS exit 99 holding the lease. The supervisor fences such a primary (S13); a replica in this state is overwritten by any primary at TXID >= 1',
          wayOut: repair(name, config.litefsUrl),
        });
      } else if (
        running &&
        view.hasData &&
        (view.txid ?? 0n) > 0n &&
        ltxOk !== undefined &&
        ltxOk.count === 0 &&
        dataDb?.database.exists
      ) {
        add({
          id: 'db.history-lost-on-restart',
          level: 'error',
          summary: `LiteFS reports ${name} at TXID ${hex(view.txid ?? 0n)} but ${dataDb.dir}/ltx has no LTX file`,
          means:
            'LiteFS keeps the position in memory only; at its next start it finds no LTX file and comes back at TXID 0 with all the data: history lost (S13)',
          wayOut: `while LiteFS still runs: \`litefs export -name ${name} FILE\` now and keep FILE; then ${repair(name, config.litefsUrl)}`,
        });
      }
      if (ltxOk?.latestHeader && !ltxOk.latestHeader.ok) {
        add({
          id: 'db.ltx-damaged',
          level: 'error',
          summary: `the newest LTX file of ${name}, ${dataDb?.dir}/ltx/${ltxOk.latest}, is damaged: ${ltxOk.latestHeader.error}`,
          means:
            'LiteFS 0.5.11 checks this file when it opens the db and fails to start on it ("sync wal to ltx: validate ltx")',
          wayOut: repair(name, config.litefsUrl),
        });
      } else if (
        ltxOk?.latestHeader?.ok &&
        ltxOk.maxTxid !== undefined &&
        ltxOk.latestHeader.value.maxTxid !== ltxOk.maxTxid
      ) {
        add({
          id: 'db.ltx-damaged',
          level: 'error',
          summary: `${dataDb?.dir}/ltx/${ltxOk.latest} is named for TXID ${hex(ltxOk.maxTxid)} but its header says ${hex(ltxOk.latestHeader.value.maxTxid)}`,
          means: 'the LTX files do not match their names; LiteFS would restore a wrong position',
          wayOut: repair(name, config.litefsUrl),
        });
      }
      // 32 bytes is a WAL header without frames (sqlite.org/fileformat.html, section 4).
      if (source === 'data-dir' && dataDb?.walBytes !== undefined && dataDb.walBytes > 32) {
        add({
          id: 'db.wal',
          level: 'info',
          summary: `${dataDb.dir}/wal holds ${dataDb.walBytes} bytes`,
          means: `transactions not yet copied into the database file; LiteFS copies them at its next start (db.go recover)${view.hasData ? '' : ', so the page count above, read from the database file, may be low'}`,
        });
      }
      if (hwm !== undefined && (view.txid ?? 0n) < hwm) {
        add({
          id: 'db.behind-hwm',
          level: 'error',
          summary: `${name} is at TXID ${hex(view.txid ?? 0n)} but this node's high-water mark is ${hex(hwm)} (${config.stateFile})`,
          means:
            role === 'replica'
              ? 'this replica follows a primary that is behind what this node once had: the cluster lost transactions somewhere (rewind)'
              : 'this volume lost transactions it once had (replaced, restored or wiped); as primary the supervisor refuses to write and hands the lease over (S2)',
          wayOut:
            role === 'replica'
              ? `find the node that still has TXID ${hex(hwm)} (its log, /status); if none does, restore the newest backup on the primary with \`litefs import -name ${name} FILE\``
              : `let a node that has the data be primary and this one sync from it; if no node has it, restore a backup with \`litefs import -name ${name} FILE\` on the primary; ${NEVER_EDIT}`,
        });
      }
      if (running && f.peers) {
        for (const ahead of peersAhead(f.peers, view, clusterIdOf(f.observation))) {
          add({
            id: 'db.behind-peer',
            level: role === 'replica' ? 'info' : 'error',
            summary: ahead.why,
            means:
              role === 'replica'
                ? 'this replica has not caught up yet; it should, while LiteFS replicates'
                : 'this node must not write as primary: its next write would replace the newer copy on that peer (S2)',
            ...(role === 'replica'
              ? {}
              : {
                  wayOut: `hand the lease to ${ahead.peer.url} (the supervisor does: S4), or stop this node so that a candidate with the data takes it; ${NEVER_EDIT}`,
                }),
          });
        }
      }
    }
  }

  const db: DoctorDb = {
    name,
    source,
    exists: view?.exists ?? false,
    sizeBytes: view?.sizeBytes ?? 0,
    validHeader: view?.validHeader ?? false,
    pageSize: view?.pageSize ?? null,
    pageCount: view?.pageCount ?? null,
    txid: view?.txid === undefined || config.standalone ? null : hex(view.txid),
    txidFrom: config.standalone || !view ? null : source === 'mount' ? '-pos' : 'ltx',
    checksum: view?.checksum || null,
    ltxFiles: ltxOk?.count ?? null,
    ltxMinTxid: ltxOk?.minTxid === undefined ? null : hex(ltxOk.minTxid),
    ltxMaxTxid: ltxOk?.maxTxid === undefined ? null : hex(ltxOk.maxTxid),
    walBytes: dataDb?.walBytes ?? null,
    hasData: view?.hasData ?? false,
    historyLost: view?.historyLost ?? false,
    empty: view?.empty ?? false,
    hwm: hwm === undefined ? null : hex(hwm),
  };
  return { db, findings: out };
}
