// `litefs-supervisor doctor` (issue 9 item 5): what is wrong with this node's data, and the
// documented way out. Pure: src/cli/doctor.ts gathers the facts (mount, LiteFS API, data dir,
// state file, disk, peers) without writing anything (S12) and prints what this returns. The
// judgements are the supervisor's own (dbViewOf, peersAhead, s9DiskGuard, HISTORY_LOST_REPAIR),
// so doctor and a running supervisor never disagree about what a db holds.

import { describeRecord, type RecordRead } from './cluster-record.js';
import { clusterIdOf, type DbView, dbViewOf, roleOf, syncOf } from './derive.js';
import { recordFindings } from './doctor-record.js';
import type { ParseResult } from './litefs-types.js';
import type { LtxHeader } from './ltx.js';
import {
  type DbObservation,
  type DiskSpace,
  type FileRead,
  freePercent,
  type Observation,
} from './observation.js';
import { formatTxid } from './parse.js';
import type { PeerReport } from './peer-types.js';
import { describePeerDb, peersAhead } from './peers.js';
import { keepsRecord, type Policy } from './policy.js';
import { HISTORY_LOST_REPAIR, s9DiskGuard } from './rules.js';
import type { Role } from './state.js';

// --- facts (gathered by src/litefs/data-dir.ts and src/cli/doctor.ts) -------------------------

/** The LTX files of one db in the data dir. */
export type LtxFacts =
  | {
      ok: true;
      /** Files with an LTX name (`<min>-<max>.ltx`). */
      count: number;
      minTxid: bigint | undefined;
      maxTxid: bigint | undefined;
      /** The file LiteFS restores the position from (the highest max TXID). */
      latest: string | undefined;
      /** Its header, checked as LiteFS checks it at start; undefined without files. */
      latestHeader: ParseResult<LtxHeader> | undefined;
      /** Its post-apply checksum (trailer), `%016x`, when readable. */
      latestChecksum: string | undefined;
    }
  | { ok: false; error: string };

export interface DataDirDb {
  name: string;
  /** `<data.dir>/dbs/<db>`. */
  dir: string;
  /** `<dir>/database`, read like a db in the mount (stat, SQLite header). */
  database: Pick<
    DbObservation,
    'exists' | 'sizeBytes' | 'validHeader' | 'pageSize' | 'pageCount' | 'error'
  >;
  /** Size of `<dir>/wal`; undefined when there is none. */
  walBytes: number | undefined;
  ltx: LtxFacts;
}

export interface DataDirFacts {
  path: string;
  /** `path` is a directory. */
  exists: boolean;
  /** Why it could not be read (not ENOENT). */
  error: string | undefined;
  /** `<path>/clusterid`, trimmed. */
  clusterId: FileRead<string>;
  dbs: DataDirDb[];
}

/** The state file, read without the supervisor's repair (no `.corrupt` rename: doctor writes nothing). */
export type StateFileRead =
  | { kind: 'ok'; clusterId: string; dbs: Record<string, bigint> }
  | { kind: 'missing' }
  | { kind: 'corrupt'; error: string }
  | { kind: 'unreadable'; error: string };

export interface DoctorFacts {
  /** The mount and /info, as the supervisor observes them (src/litefs/observe.ts). */
  observation: Observation;
  /** The data dir that was read: LiteFS's own (/info `path`) when it answers, else the configured one. */
  dataDir: DataDirFacts | undefined;
  state: StateFileRead;
  /** Whether the state file shares a filesystem with the data dir; undefined when unknown. */
  stateOnDataVolume: boolean | undefined;
  disk: DiskSpace | undefined;
  /** Peers' evidence, asked only when LiteFS answers here and --peers is set. */
  peers: PeerReport | undefined;
  /** The cluster record as read from Consul; undefined when it is off (or not asked). */
  record?: RecordRead | undefined;
}

// --- report ---------------------------------------------------------------------------------

/** `error`: data at risk or a write refused; `warn`: a protection is weaker than it should be. */
export type Level = 'ok' | 'info' | 'warn' | 'error';

export interface Finding {
  /** Stable, dotted: `db.history-lost`, `disk.low`, ... */
  id: string;
  level: Level;
  /** The db it is about, if any. */
  db?: string;
  /** What was seen, with the numbers. */
  summary: string;
  /** What it means. */
  means: string;
  /** The documented way out; undefined when nothing needs doing. */
  wayOut?: string;
}

export interface DoctorDb {
  name: string;
  /** Where the content was read: the mount (LiteFS running) or the data dir's `database`. */
  source: 'mount' | 'data-dir' | 'none';
  exists: boolean;
  sizeBytes: number;
  validHeader: boolean;
  pageSize: number | null;
  pageCount: number | null;
  txid: string | null;
  /** `-pos` (LiteFS running) or `ltx` (the highest LTX file, as LiteFS would restore it). */
  txidFrom: '-pos' | 'ltx' | null;
  checksum: string | null;
  ltxFiles: number | null;
  ltxMinTxid: string | null;
  ltxMaxTxid: string | null;
  walBytes: number | null;
  hasData: boolean;
  historyLost: boolean;
  empty: boolean;
  hwm: string | null;
}

export interface DoctorReport {
  ok: boolean;
  litefs: {
    url: string;
    running: boolean;
    error: string | null;
    role: Role | null;
    lagMs: number | null;
    synced: boolean | null;
    clusterId: string | null;
    nodeId: string | null;
  };
  mountDir: string;
  dataDir: string | null;
  stateFile: string;
  dbs: DoctorDb[];
  /** The cluster record as read (its key; never the Consul URL); null when off. */
  clusterRecord: { key: string; read: string } | null;
  findings: Finding[];
}

const hex = (txid: bigint) => formatTxid(txid);
const NEVER_EDIT = "never edit LiteFS's data dir (data.dir) by hand";

/** S13's repair for `db`; `litefs export`/`import` talk to :20202 unless given `-url`. */
function repair(db: string, litefsUrl: string): string {
  const text = HISTORY_LOST_REPAIR.replaceAll('DB', db);
  let port = '';
  try {
    port = new URL(litefsUrl).port;
  } catch {}
  return port === '' || port === '20202'
    ? text
    : `${text} (LiteFS's API is not on :20202 here: add \`-url ${litefsUrl}\` to both)`;
}

/** What is wrong with this node, per db and as a whole. */
export function diagnose(f: DoctorFacts, config: Policy): DoctorReport {
  const obs = f.observation;
  const findings: Finding[] = [];
  const add = (x: Finding) => findings.push(x);
  const running = !config.standalone && obs.info.ok;
  const info = obs.info.ok ? obs.info.value : undefined;
  const self = config.hostname === undefined ? [] : [config.hostname];
  const role = running ? roleOf(obs, self) : null;
  const sync = running && role === 'replica' ? syncOf(obs, config.maxLag) : undefined;
  const nodeClusterId = running ? clusterIdOf(obs) : '';

  if (config.standalone) {
    add({
      id: 'mode.standalone',
      level: 'info',
      summary: '--standalone: no LiteFS, so no position, history, cluster or peers to check',
      means: 'only the database files and the free space are examined',
    });
  } else {
    litefsFindings(f, config, role, sync, add);
    clusterFindings(f, nodeClusterId, add);
  }

  const dbs = config.db.map((name, i) => {
    const r = dbFindings(f, config, name, i, role, nodeClusterId);
    for (const x of r.findings) add(x);
    return r.db;
  });

  if (!config.standalone) stateFileFindings(f, config, nodeClusterId, add);
  const key = keepsRecord(config) ? config.clusterRecord : undefined;
  for (const x of recordFindings(f.record, key, dbs, nodeClusterId)) add(x);
  diskFindings(f, config, add);

  return {
    ok: !findings.some((x) => x.level === 'warn' || x.level === 'error'),
    litefs: {
      url: config.litefsUrl,
      running,
      error: !config.standalone && !obs.info.ok ? obs.info.error : null,
      role,
      lagMs: role === 'primary' ? 0 : (sync?.lagMs ?? null),
      synced: role === 'primary' ? true : (sync?.synced ?? null),
      clusterId: running ? nodeClusterId || null : null,
      nodeId: info?.nodeId ?? null,
    },
    mountDir: config.mountDir,
    dataDir: f.dataDir?.path ?? null,
    stateFile: config.stateFile,
    dbs,
    clusterRecord: key === undefined ? null : { key, read: describeRecord(f.record) },
    findings: sortFindings(findings),
  };
}

const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, ok: 3 };

function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((x, i) => [x, i] as const)
    .sort(([a, i], [b, j]) => ORDER[a.level] - ORDER[b.level] || i - j)
    .map(([x]) => x);
}

function litefsFindings(
  f: DoctorFacts,
  config: Policy,
  role: Role | null,
  sync: ReturnType<typeof syncOf> | undefined,
  add: (x: Finding) => void,
): void {
  const obs = f.observation;
  const mountError = obs.primaryFile.kind === 'error' ? obs.primaryFile.error : undefined;
  if (mountError !== undefined && /ENOTCONN|not connected/i.test(mountError)) {
    add({
      id: 'mount.dead',
      level: 'error',
      summary: `the mount dir ${config.mountDir} is a dead FUSE mount (${mountError})`,
      means:
        'LiteFS exited without unmounting: seen on LiteFS 0.5.11 when it exits 99 (a write on a db whose history was lost, WAL mode) and after a non-zero exit of its exec command following a signal. Its Consul lease may be held until the session expires',
      wayOut: `find out why LiteFS exited (its log), fix that first (see the other findings), then unmount with \`fusermount3 -u ${config.mountDir}\` or restart the machine; ${NEVER_EDIT}`,
    });
  }
  if (!obs.info.ok) {
    add({
      id: 'litefs.down',
      level: 'info',
      summary: `LiteFS's API at ${config.litefsUrl} does not answer (${obs.info.error})`,
      means:
        'judged from the data dir alone: position from the LTX files, as LiteFS would restore it at its next start; role, lag and peers are not checked',
    });
    if (config.peers !== undefined) {
      add({
        id: 'peers.not-asked',
        level: 'info',
        summary: `peers (${config.peers}) not asked: LiteFS is not running here`,
        means:
          "peers are asked only when this node's LiteFS answers (to recognise itself among them)",
      });
    }
    return;
  }
  const info = obs.info.value;
  if (role === 'primary') {
    add({
      id: 'litefs.role',
      level: 'ok',
      summary: `LiteFS runs here and this node is the primary (${info.primaryHostname || 'hostname not shown'})`,
      means:
        'its writes replicate to every connected replica; the findings on its databases decide whether that is safe',
    });
  } else if (role === 'replica') {
    const detail = sync?.detail ?? '';
    add({
      id: 'litefs.role',
      level: sync?.synced ? 'ok' : 'warn',
      summary: `LiteFS runs here as a replica of ${info.primaryHostname || 'the primary'}; ${detail}`,
      means: sync?.synced
        ? 'it follows the primary; its copy is replaced by whatever the primary sends'
        : `it is not synced within --max-lag; the supervisor waits (bounded by --sync-timeout) before starting the app`,
      ...(sync?.synced
        ? {}
        : {
            wayOut:
              "check the primary's log and the network between the nodes; a replica that never syncs exits 5 after --sync-timeout",
          }),
    });
  } else {
    add({
      id: 'litefs.role',
      level: 'info',
      summary: `LiteFS runs here but no primary is known${info.primaryHostname ? ` (it names ${info.primaryHostname}, this node itself: the moment after a handoff)` : ''}`,
      means: 'an election or a reconnect is in progress; run doctor again in a few seconds',
    });
  }
  if (config.peers === undefined) {
    add({
      id: 'peers.none',
      level: 'info',
      summary: 'no --peers (and no FLY_APP_NAME): no peer evidence',
      means:
        'without peers, an empty primary cannot tell a new cluster from a lost one; the high-water mark in the state file is the only protection',
    });
    return;
  }
  const report = f.peers;
  if (report === undefined) return;
  if (report.discoveryError !== undefined) {
    add({
      id: 'peers.discovery',
      level: 'warn',
      summary: `finding the peers failed: ${report.discoveryError}`,
      means: 'peers may be hidden; the supervisor will not bootstrap past this (S3)',
      wayOut: `check --peers ${config.peers} and DNS (on Fly, <app>.internal lists started machines)`,
    });
  }
  if (report.answers.length === 0 && report.discoveryError === undefined) {
    add({
      id: 'peers.none-found',
      level: 'info',
      summary: `--peers ${config.peers} found no other node`,
      means:
        'stopped machines may be missing from DNS; with no visible peer an empty primary looks like a new cluster',
    });
  }
  for (const a of report.answers) {
    if (!a.ok) {
      add({
        id: 'peer.unanswered',
        level: 'warn',
        summary: `peer ${a.url} did not answer: ${a.error}`,
        means:
          'it may hold data; the supervisor counts it as unanswered, never as empty, and does not bootstrap while it is silent (S3)',
        wayOut:
          "check that LiteFS runs there and that its API (and its supervisor's health port) is reachable from this node",
      });
      continue;
    }
    const other =
      a.clusterId !== '' && f.observation.info.ok && clusterIdOf(f.observation) !== ''
        ? a.clusterId !== clusterIdOf(f.observation)
        : false;
    const dbs = config.db.map((db) => `${db}: ${describePeerDb(a.dbs[db])}`).join('; ');
    add({
      id: 'peer.evidence',
      level: 'info',
      summary: `peer ${a.url} (node ${a.nodeId}${a.isPrimary ? ', primary' : ''}${a.candidate ? ', candidate' : ''}, evidence from ${a.evidence === 'supervisor' ? 'its supervisor' : 'LiteFS alone'}): ${dbs}`,
      means: other
        ? `it belongs to another cluster (${a.clusterId}); its evidence does not count here`
        : 'what it holds, for comparison with this node',
    });
  }
}

function clusterFindings(f: DoctorFacts, nodeClusterId: string, add: (x: Finding) => void): void {
  const dir = f.dataDir;
  if (dir === undefined) {
    add({
      id: 'data-dir.unknown',
      level: 'warn',
      summary:
        'no LiteFS data dir known (no litefs.yml data.dir, no --data-dir) and LiteFS does not answer',
      means: 'the LTX history, the cluster ID and the volume cannot be examined',
      wayOut: 'pass --litefs-config FILE (the litefs.yml LiteFS uses) or --data-dir DIR',
    });
    return;
  }
  if (dir.error !== undefined) {
    add({
      id: 'data-dir.unreadable',
      level: 'warn',
      summary: dir.error,
      means: "LiteFS's own files cannot be examined",
      wayOut: `run doctor as the user LiteFS runs as (root on Fly); ${NEVER_EDIT}`,
    });
    return;
  }
  if (!dir.exists) {
    add({
      id: 'data-dir.missing',
      level: 'info',
      summary: `${dir.path} does not exist`,
      means:
        'LiteFS has never run on this volume (a fresh volume, a new machine), or the volume is not mounted where litefs.yml says',
    });
    return;
  }
  const file = dir.clusterId;
  const path = `${f.dataDir?.path}/clusterid`;
  if (file.kind === 'error') {
    add({
      id: 'cluster-id.unreadable',
      level: 'warn',
      summary: file.error,
      means: 'LiteFS fails to start when it cannot read its cluster ID ("load cluster id")',
      wayOut: `fix the volume or the permissions; ${NEVER_EDIT}`,
    });
    return;
  }
  if (file.kind === 'absent') {
    add({
      id: 'cluster-id.none',
      level: 'info',
      summary: `${path} does not exist${nodeClusterId ? `; LiteFS reports ${nodeClusterId}` : ''}`,
      means:
        'this data dir never joined a cluster (a fresh volume), or it was wiped; LiteFS sets it when the node first gets the lease or connects to a primary',
    });
    return;
  }
  if (!/^LFSC.{16}$/.test(file.value)) {
    add({
      id: 'cluster-id.invalid',
      level: 'error',
      summary: `${path} holds ${JSON.stringify(file.value.slice(0, 40))}, not a LiteFS cluster ID (LFSC + 16 characters)`,
      means: 'LiteFS 0.5.11 refuses to start with it ("load cluster id: invalid cluster id")',
      wayOut: `restore the volume from a snapshot or replace the machine; ${NEVER_EDIT}`,
    });
    return;
  }
  if (nodeClusterId !== '' && nodeClusterId !== file.value) {
    add({
      id: 'cluster-id.mismatch',
      level: 'error',
      summary: `${path} says ${file.value} but LiteFS reports ${nodeClusterId}`,
      means: 'the data dir read here is not the one this LiteFS uses, or it changed underneath it',
      wayOut: `pass the data dir LiteFS uses (--data-dir, --litefs-config); ${NEVER_EDIT}`,
    });
    return;
  }
  add({
    id: 'cluster-id',
    level: 'ok',
    summary: `cluster ID ${file.value}${nodeClusterId ? ' (the same in /info)' : ''}`,
    means: 'this node belongs to that cluster',
  });
}

interface DbResult {
  db: DoctorDb;
  findings: Finding[];
}

function dbFindings(
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

function stateFileFindings(
  f: DoctorFacts,
  config: Policy,
  nodeClusterId: string,
  add: (x: Finding) => void,
): void {
  const path = config.stateFile;
  const s = f.state;
  if (s.kind === 'missing') {
    add({
      id: 'state-file.none',
      level: 'info',
      summary: `no state file at ${path}`,
      means:
        'no high-water mark: the supervisor has not run here with this --state-file (a new node, or a new volume). Only peers can then show that data exists elsewhere',
    });
  } else if (s.kind === 'unreadable') {
    add({
      id: 'state-file.unreadable',
      level: 'warn',
      summary: s.error,
      means: 'the supervisor runs without its high-water mark until it can read the file (S10)',
      wayOut: 'fix the permissions or the volume; do not delete the file',
    });
  } else if (s.kind === 'corrupt') {
    add({
      id: 'state-file.corrupt',
      level: 'warn',
      summary: `the state file ${path} does not parse: ${s.error}`,
      means:
        'at its next start the supervisor keeps it aside as .corrupt and runs without a high-water mark (S10); only peers protect this node then',
      wayOut: 'keep the file for inspection; the supervisor writes a fresh one',
    });
  } else {
    const marks = Object.entries(s.dbs)
      .map(([db, txid]) => `${db} TXID ${hex(txid)}`)
      .join(', ');
    const other = nodeClusterId !== '' && s.clusterId !== '' && s.clusterId !== nodeClusterId;
    add({
      id: other ? 'state-file.other-cluster' : 'state-file',
      level: other ? 'warn' : 'ok',
      summary: `state file ${path}: cluster ${s.clusterId || '(none yet)'}, high-water marks ${marks || 'none'}`,
      means: other
        ? `it belongs to another cluster than this node's (${nodeClusterId}); the supervisor will start a fresh mark and its old marks protect nothing here`
        : 'the largest TXIDs this node has seen; a position below them is behind',
      ...(other
        ? {
            wayOut:
              'if this node was moved to a new cluster on purpose, nothing; otherwise find out why its cluster ID changed (a wiped data dir gets a new one)',
          }
        : {}),
    });
  }
  if (f.dataDir === undefined) return;
  if (f.stateOnDataVolume === false) {
    add({
      id: 'state-file.other-volume',
      level: 'warn',
      summary: `the state file ${path} is not on the same filesystem as the data dir ${f.dataDir.path}`,
      means:
        'a wiped or replaced data volume keeps an old high-water mark here (a node that then refuses forever), or the mark is lost with its own volume while the data survives; the mark protects only when both live and die together',
      wayOut:
        "put --state-file on the data dir's volume, next to data.dir (the default is <parent of data.dir>/litefs-supervisor.json)",
    });
  } else if (f.stateOnDataVolume === undefined) {
    add({
      id: 'state-file.volume-unknown',
      level: 'info',
      summary: `could not tell whether ${path} and ${f.dataDir.path} share a filesystem`,
      means: 'one of them could not be examined',
    });
  }
}

function diskFindings(f: DoctorFacts, config: Policy, add: (x: Finding) => void): void {
  const guard = s9DiskGuard(f.disk, config.minFreeDisk);
  const free = f.disk ? freePercent(f.disk) : undefined;
  if (!f.disk || !free?.ok) {
    add({
      id: 'disk.unknown',
      level: 'warn',
      summary: guard.ok && guard.note ? guard.note : 'free disk space not measured',
      means:
        'a full volume is what started the seed incident; the supervisor cannot guard it (S9) without a measurement',
      wayOut: "pass --data-dir (or --litefs-config) so the data dir's volume can be measured",
    });
    return;
  }
  if (!guard.ok) {
    add({
      id: 'disk.low',
      level: 'error',
      summary: guard.why,
      means:
        'the supervisor refuses to migrate (S9, exit 3) and skips backups (S8); when the volume fills up LiteFS cannot write LTX files and replication stops',
      wayOut:
        'extend the volume (`fly volumes extend`), or delete files of your own on it (backups, logs); never delete LTX files or anything else in data.dir',
    });
    return;
  }
  add({
    id: 'disk',
    level: 'ok',
    summary: `${free.pct.toFixed(1)}% free (${free.freeBytes} of ${free.totalBytes} bytes) on the volume of ${f.disk.path}, --min-free-disk ${config.minFreeDisk}%`,
    means: 'room for migrations and backups',
  });
}
