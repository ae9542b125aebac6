// Strict parsers for everything LiteFS shows us (docs/litefs-facts.md; docs/design.md section 12, point 5). Pure: no I/O,
// no clock. A failure is a ParseResult error that says what was expected and what arrived,
// never a silent default (litefs-js returns 0 for an unreadable `-pos`; we do not).

import type {
  Lag,
  LitefsEvent,
  LitefsInfo,
  ParseResult,
  Position,
  StoreVars,
} from './litefs-types.js';
import { isRecord, kindOf, showValue } from './values.js';

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

const UINT64_MAX = (1n << 64n) - 1n;

// LiteFS prints TXIDs and checksums with `%016x` (ltx TXID.String, Checksum.String): always 16
// lowercase hex digits. Uppercase is refused rather than folded: checksums are compared as
// strings, so accepting two spellings of one value would make equal positions look different.
const HEX16 = /^[0-9a-f]{16}$/;

function checkHex16(what: string, value: unknown): ParseResult<string> {
  if (typeof value !== 'string') {
    return fail(
      `${what}: expected a 16-char lowercase hex string, got ${kindOf(value)} ${showValue(value)}`,
    );
  }
  if (HEX16.test(value)) return ok(value);
  if (/^[0-9A-Fa-f]{16}$/.test(value)) {
    return fail(
      `${what}: expected lowercase hex as LiteFS prints it (%016x), got ${showValue(value)}`,
    );
  }
  return fail(`${what}: expected 16 lowercase hex chars, got ${showValue(value)}`);
}

/** TXID as a bigint: TXIDs are uint64 and exceed Number.MAX_SAFE_INTEGER in principle. */
function parseTxidField(what: string, value: unknown): ParseResult<bigint> {
  const hex = checkHex16(what, value);
  return hex.ok ? ok(BigInt(`0x${hex.value}`)) : fail(hex.error);
}

/** 16 lowercase hex chars, the way LiteFS prints a TXID (`%016x`). */
export function formatTxid(txid: bigint): string {
  if (txid < 0n || txid > UINT64_MAX) {
    throw new RangeError(`txid must be a uint64, got ${txid}`);
  }
  return txid.toString(16).padStart(16, '0');
}

// `.lag` is written with `%+010d\n` (fuse/lag_node.go). The width 10 includes the sign, so a
// normal value is a sign, 9 digits and a newline: 11 bytes, which is also the file size
// lag_node.go reports (lagSize = 11). A value of 10 digits or more — the "not synced yet"
// marker math.MaxInt32 (`+2147483647`) and lags of 1e9 ms or more — is longer than that
// size, so a read through the FUSE mount is cut at 11 bytes and loses its newline.
// Negative values are real: lag is local time minus the primary's heartbeat timestamp
// (lag_node.go ReadAll), so a replica whose clock is behind the primary's prints e.g.
// `-000000012`.
const LAG = /^([+-])([0-9]+)(\n?)$/;
const LAG_UNSYNCED = 2147483647;

export function parseLag(text: string): ParseResult<Lag> {
  const m = LAG.exec(text);
  if (!m) {
    return fail(
      `.lag: expected %+010d and a newline (e.g. "+000000042\\n"), got ${showValue(text)}`,
    );
  }
  const [, sign, digits = '', newline] = m;
  if (digits.length < 9) {
    return fail(`.lag: expected a sign and at least 9 digits (%+010d), got ${showValue(text)}`);
  }
  if (digits.length === 9 && newline === '') {
    return fail(
      `.lag: expected a trailing newline after ${showValue(text)}: the read looks cut short`,
    );
  }
  if (digits.length > 9 && digits.startsWith('0')) {
    return fail(
      `.lag: %+010d pads to 10 chars only, got extra leading zeros in ${showValue(text)}`,
    );
  }
  const magnitude = Number(digits);
  if (!Number.isSafeInteger(magnitude)) {
    return fail(`.lag: value out of range: ${showValue(text)}`);
  }
  if (sign === '-' && magnitude === 0) {
    return fail(`.lag: Go prints zero as "+000000000", got ${showValue(text)}`);
  }
  if (sign === '+' && magnitude === LAG_UNSYNCED) return ok({ kind: 'unsynced' });
  return ok({ kind: 'ms', ms: sign === '-' ? -magnitude : magnitude });
}

// `<db>-pos` is `%s/%s\n` of ltx TXID and Checksum, each `%016x` (fuse/pos_node.go; its
// reported size PosFileSize = 34 includes the newline, so a complete read always has it).
const POS = /^([0-9A-Fa-f]{16})\/([0-9A-Fa-f]{16})\n$/;

export function parsePos(text: string): ParseResult<Position> {
  const m = POS.exec(text);
  if (!m) {
    return fail(
      `-pos: expected "<16 hex txid>/<16 hex checksum>\\n" (34 bytes), got ${text.length} bytes ${showValue(text)}`,
    );
  }
  const txid = parseTxidField('-pos txid', m[1]);
  if (!txid.ok) return fail(txid.error);
  const checksum = checkHex16('-pos checksum', m[2]);
  if (!checksum.ok) return fail(checksum.error);
  return ok({ txid: txid.value, checksum: checksum.value });
}

// `.primary` holds the primary's hostname and a newline (fuse/primary_node.go ReadAll). It only
// exists while this node is a replica connected to a primary; absence is handled by the reader.
export function parsePrimaryFile(text: string): ParseResult<string> {
  const hostname = text.trim();
  if (hostname === '') {
    return fail(`.primary: expected a hostname and a newline, got ${showValue(text)}`);
  }
  if (/[\s\x00-\x1f\x7f]/.test(hostname)) {
    return fail(`.primary: expected one hostname, got ${showValue(text)}`);
  }
  return ok(hostname);
}

// LiteFS formats node IDs with `%016X` (litefs.go FormatNodeID) and parses them with
// strconv.ParseUint(s, 16, 64), which takes either case; the ID is kept as received.
const NODE_ID = /^[0-9A-Fa-f]{16}$/;

/**
 * GET /info: json.MarshalIndent of litefs.NodeInfo (litefs.go). `clusterID` has `omitempty`,
 * so it is missing, not "", until the node has a cluster ID; `primary.hostname` is always
 * present and "" when no primary is known (http/server.go handleGetInfo).
 */
export function parseInfo(
  body: unknown,
  headers: { litefsId?: string | undefined; clusterId?: string | undefined },
): ParseResult<LitefsInfo> {
  if (!isRecord(body))
    return fail(`/info: expected a JSON object, got ${kindOf(body)} ${showValue(body)}`);
  const { clusterID, isPrimary, candidate, path, primary } = body;
  if (clusterID !== undefined && typeof clusterID !== 'string') {
    return fail(
      `/info: expected "clusterID" to be a string or omitted, got ${showValue(clusterID)}`,
    );
  }
  if (typeof isPrimary !== 'boolean') {
    return fail(
      `/info: expected boolean "isPrimary", got ${kindOf(isPrimary)} ${showValue(isPrimary)}`,
    );
  }
  if (typeof candidate !== 'boolean') {
    return fail(
      `/info: expected boolean "candidate", got ${kindOf(candidate)} ${showValue(candidate)}`,
    );
  }
  if (typeof path !== 'string') {
    return fail(`/info: expected string "path", got ${kindOf(path)} ${showValue(path)}`);
  }
  if (!isRecord(primary)) {
    return fail(`/info: expected object "primary", got ${kindOf(primary)} ${showValue(primary)}`);
  }
  if (typeof primary.hostname !== 'string') {
    return fail(
      `/info: expected string "primary.hostname", got ${kindOf(primary.hostname)} ${showValue(primary.hostname)}`,
    );
  }
  const { litefsId, clusterId } = headers;
  if (litefsId !== undefined && !NODE_ID.test(litefsId)) {
    return fail(`/info: expected a 16-hex-char Litefs-Id header, got ${showValue(litefsId)}`);
  }
  return ok({
    clusterId: clusterID ?? '',
    isPrimary,
    candidate,
    path,
    primaryHostname: primary.hostname,
    nodeId: litefsId,
    clusterIdHeader: clusterId,
  });
}

/** `hostname` of init/primaryChange: `omitempty` in store.go, so a present value is non-empty. */
function parseRoleData(
  type: 'init' | 'primaryChange',
  data: unknown,
): ParseResult<{ isPrimary: boolean; hostname: string | undefined }> {
  if (!isRecord(data)) return fail(`${type} event: expected object "data", got ${kindOf(data)}`);
  if (typeof data.isPrimary !== 'boolean') {
    return fail(
      `${type} event: expected boolean "data.isPrimary", got ${showValue(data.isPrimary)}`,
    );
  }
  const { hostname } = data;
  if (hostname !== undefined && (typeof hostname !== 'string' || hostname === '')) {
    return fail(
      `${type} event: expected "data.hostname" to be a non-empty string or omitted, got ${showValue(hostname)}`,
    );
  }
  return ok({ isPrimary: data.isPrimary, hostname });
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/**
 * One line of GET /events: json.Encoder output of litefs.Event (store.go): `type`, `db`
 * (omitempty; set on tx), `data`. tx data is TxEventData: `txID` and `postApplyChecksum` are
 * JSON strings of 16 lowercase hex (ltx MarshalJSON), `pageSize`/`commit` uint32 numbers,
 * `timestamp` a Go time.Time (RFC 3339, UTC).
 */
export function parseEventLine(line: string): ParseResult<LitefsEvent> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(
      `event: expected one JSON object per line, got ${showValue(line)} (${(err as Error).message})`,
    );
  }
  if (!isRecord(value))
    return fail(`event: expected a JSON object, got ${kindOf(value)} ${showValue(line)}`);
  const { type, data } = value;
  if (typeof type !== 'string' || type === '') {
    return fail(`event: expected string "type", got ${showValue(type)} in ${showValue(line)}`);
  }
  switch (type) {
    case 'init':
    case 'primaryChange': {
      const role = parseRoleData(type, data);
      return role.ok ? ok({ type, ...role.value }) : fail(role.error);
    }
    case 'tx': {
      const { db } = value;
      if (typeof db !== 'string' || db === '') {
        return fail(`tx event: expected non-empty string "db", got ${showValue(db)}`);
      }
      if (!isRecord(data)) return fail(`tx event: expected object "data", got ${kindOf(data)}`);
      const txid = parseTxidField('tx event data.txID', data.txID);
      if (!txid.ok) return fail(txid.error);
      const checksum = checkHex16('tx event data.postApplyChecksum', data.postApplyChecksum);
      if (!checksum.ok) return fail(checksum.error);
      if (!isUint32(data.pageSize)) {
        return fail(`tx event: expected uint32 "data.pageSize", got ${showValue(data.pageSize)}`);
      }
      if (!isUint32(data.commit)) {
        return fail(`tx event: expected uint32 "data.commit", got ${showValue(data.commit)}`);
      }
      const { timestamp } = data;
      if (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp))) {
        return fail(
          `tx event: expected RFC 3339 string "data.timestamp", got ${showValue(timestamp)}`,
        );
      }
      return ok({
        type: 'tx',
        db,
        txid: txid.value,
        checksum: checksum.value,
        pageSize: data.pageSize,
        commit: data.commit,
        timestamp,
      });
    }
    default:
      // Newer LiteFS versions may add event types; they are not errors.
      return ok({ type: 'unknown', rawType: type });
  }
}

/**
 * GET /debug/vars: the expvar page; LiteFS publishes its store under `store`
 * (cmd/litefs/mount_linux.go) as storeVarJSON (store.go StoreVar.String): `isPrimary`,
 * `candidate`, `dbs` keyed by name with `txid`/`checksum` as `%016x` strings. StoreVar.String
 * returns `null` if it cannot marshal, which is reported as an error here.
 */
export function parseDebugVars(body: unknown): ParseResult<StoreVars> {
  if (!isRecord(body)) {
    return fail(`/debug/vars: expected a JSON object, got ${kindOf(body)} ${showValue(body)}`);
  }
  const { store } = body;
  if (!isRecord(store)) {
    return fail(`/debug/vars: expected object "store", got ${kindOf(store)} ${showValue(store)}`);
  }
  if (typeof store.isPrimary !== 'boolean') {
    return fail(
      `/debug/vars: expected boolean "store.isPrimary", got ${showValue(store.isPrimary)}`,
    );
  }
  if (typeof store.candidate !== 'boolean') {
    return fail(
      `/debug/vars: expected boolean "store.candidate", got ${showValue(store.candidate)}`,
    );
  }
  if (!isRecord(store.dbs)) {
    return fail(
      `/debug/vars: expected object "store.dbs", got ${kindOf(store.dbs)} ${showValue(store.dbs)}`,
    );
  }
  const dbs: StoreVars['dbs'] = {};
  for (const [name, db] of Object.entries(store.dbs)) {
    if (!isRecord(db)) {
      return fail(`/debug/vars: expected object "store.dbs.${name}", got ${kindOf(db)}`);
    }
    const txid = parseTxidField(`/debug/vars store.dbs.${name}.txid`, db.txid);
    if (!txid.ok) return fail(txid.error);
    const checksum = checkHex16(`/debug/vars store.dbs.${name}.checksum`, db.checksum);
    if (!checksum.ok) return fail(checksum.error);
    dbs[name] = { txid: txid.value, checksum: checksum.value };
  }
  return ok({ isPrimary: store.isPrimary, candidate: store.candidate, dbs });
}

// The 16-byte magic string every SQLite database file starts with ("SQLite format 3\0").
const SQLITE_MAGIC = [
  0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00,
];

/** True iff `bytes` starts with the SQLite header string (docs/design.md section 3, validHeader). */
export function isSqliteHeader(bytes: Uint8Array): boolean {
  if (bytes.length < SQLITE_MAGIC.length) return false;
  return SQLITE_MAGIC.every((b, i) => bytes[i] === b);
}

/** What the first 100 bytes of a SQLite file say about its size (docs/design.md section 3). */
export interface SqliteHeader {
  /** Bytes per page (the header's 1 means 65536). */
  pageSize: number;
  /**
   * Pages in the database: the header's count when it is valid (bytes 92-95 equal the change
   * counter at 24-27), else `fileBytes / pageSize` when the file size is known, else undefined.
   */
  pageCount: number | undefined;
  /** Where pageCount came from. */
  pageCountFrom: 'header' | 'file-size' | 'unknown';
}

/** Bytes of the SQLite header that carry the page size and the page count. */
export const SQLITE_HEADER_BYTES = 100;

/**
 * Reads the page size and page count from a SQLite header (https://sqlite.org/fileformat.html,
 * section 1.3): page size at 16-17 (big-endian; 1 means 65536, else a power of two in
 * 512..32768), the in-header page count at 28-31, valid only when the "version-valid-for"
 * number at 92-95 equals the change counter at 24-27 (older writers leave it stale); otherwise
 * the count is the file size divided by the page size. `fileBytes` undefined (a stream of
 * unknown length) leaves the count unknown in that case. An error value when the bytes are not
 * a SQLite header or the page size is not one SQLite can write.
 */
export function parseSqliteHeader(
  bytes: Uint8Array,
  fileBytes: number | undefined,
): ParseResult<SqliteHeader> {
  if (!isSqliteHeader(bytes)) return fail('no SQLite header ("SQLite format 3\\0")');
  if (bytes.length < SQLITE_HEADER_BYTES) {
    return fail(`SQLite header truncated: ${bytes.length} of ${SQLITE_HEADER_BYTES} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SQLITE_HEADER_BYTES);
  const raw = view.getUint16(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return fail(`SQLite header: page size ${raw} is not a power of two between 512 and 65536`);
  }
  const changeCounter = view.getUint32(24);
  const versionValidFor = view.getUint32(92);
  const inHeader = view.getUint32(28);
  if (versionValidFor === changeCounter && inHeader > 0) {
    return ok({ pageSize, pageCount: inHeader, pageCountFrom: 'header' });
  }
  if (fileBytes !== undefined) {
    return ok({
      pageSize,
      pageCount: Math.floor(fileBytes / pageSize),
      pageCountFrom: 'file-size',
    });
  }
  return ok({ pageSize, pageCount: undefined, pageCountFrom: 'unknown' });
}

/** The evidence fields of a supervisor's `GET /status` (docs/design.md section 7, `evidence: 1`). */
export interface SupervisorEvidence {
  nodeId: string | undefined;
  clusterId: string;
  dbs: Record<
    string,
    { txid: bigint; pageCount: number | undefined; hasData: boolean; hwm: bigint | undefined }
  >;
  /** Optional fields (absent in older supervisors): app version, synced, lag (handover). */
  appVersion: string | undefined;
  synced: boolean | undefined;
  lagMs: number | undefined;
  /** `app.ready` (readiness, docs/design.md section 6); absent in older supervisors. */
  appReady: boolean | undefined;
  /** `handBack.to` (S14): the node it hands the lease to while its app cannot serve. */
  handingBackTo: string | undefined;
}

/**
 * Reads the versioned evidence contract from a peer supervisor's /status body: `evidence` must
 * be 1; `nodeId` and `clusterId` strings or null; `dbs` an array of `{name, txid, pageCount,
 * hasData, hwm}` with TXIDs as 16-hex strings or null. Anything else is an error, so a peer that
 * answers something we cannot read is "not answered", never "empty" (S3).
 */
export function parseEvidence(body: unknown): ParseResult<SupervisorEvidence> {
  if (!isRecord(body)) return fail(`/status: expected a JSON object, got ${kindOf(body)}`);
  if (body.evidence !== 1) {
    return fail(`/status: expected "evidence": 1, got ${showValue(body.evidence)}`);
  }
  const nodeId = body.nodeId;
  if (nodeId !== null && (typeof nodeId !== 'string' || !/^[0-9A-Fa-f]{16}$/.test(nodeId))) {
    return fail(
      `/status: expected "nodeId" a 16-hex-char string or null, got ${showValue(nodeId)}`,
    );
  }
  const clusterId = body.clusterId;
  if (clusterId !== null && typeof clusterId !== 'string') {
    return fail(`/status: expected "clusterId" a string or null, got ${showValue(clusterId)}`);
  }
  if (!Array.isArray(body.dbs))
    return fail(`/status: expected array "dbs", got ${kindOf(body.dbs)}`);
  const dbs: SupervisorEvidence['dbs'] = {};
  for (const db of body.dbs as unknown[]) {
    if (!isRecord(db) || typeof db.name !== 'string') {
      return fail(`/status: expected each of "dbs" an object with a "name", got ${showValue(db)}`);
    }
    const at = `/status dbs[${db.name}]`;
    const txid = db.txid === null ? ok(0n) : parseTxidField(`${at}.txid`, db.txid);
    if (!txid.ok) return fail(txid.error);
    const hwm = db.hwm === null ? ok(undefined) : parseTxidField(`${at}.hwm`, db.hwm);
    if (!hwm.ok) return fail(hwm.error);
    const pages = db.pageCount;
    if (
      pages !== null &&
      (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages < 0)
    ) {
      return fail(`${at}.pageCount: expected a whole number or null, got ${showValue(pages)}`);
    }
    if (typeof db.hasData !== 'boolean') {
      return fail(`${at}.hasData: expected a boolean, got ${showValue(db.hasData)}`);
    }
    dbs[db.name] = {
      txid: txid.value,
      pageCount: pages ?? undefined,
      hasData: db.hasData,
      hwm: hwm.value,
    };
  }
  // Fields added within `evidence: 1` (handover): absent or null reads as unknown.
  const appVersion = body.appVersion;
  if (appVersion !== undefined && appVersion !== null && typeof appVersion !== 'string') {
    return fail(`/status: expected "appVersion" a string or null, got ${showValue(appVersion)}`);
  }
  const synced = body.synced;
  if (synced !== undefined && typeof synced !== 'boolean') {
    return fail(`/status: expected "synced" a boolean, got ${showValue(synced)}`);
  }
  const lagMs = body.lagMs;
  if (
    lagMs !== undefined &&
    lagMs !== null &&
    (typeof lagMs !== 'number' || !Number.isFinite(lagMs) || lagMs < 0)
  ) {
    return fail(`/status: expected "lagMs" a non-negative number or null, got ${showValue(lagMs)}`);
  }
  // `app.ready`, added within `evidence: 1` with readiness: absent reads as unknown (ready).
  const app = body.app;
  const appReady = isRecord(app) ? app.ready : undefined;
  if (appReady !== undefined && typeof appReady !== 'boolean') {
    return fail(`/status: expected "app.ready" a boolean, got ${showValue(appReady)}`);
  }
  // `handBack`, added within `evidence: 1` with S14: absent or null reads as no hand-back.
  const handBack = body.handBack;
  if (handBack !== undefined && handBack !== null && !isRecord(handBack)) {
    return fail(`/status: expected "handBack" an object or null, got ${showValue(handBack)}`);
  }
  const to = isRecord(handBack) ? handBack.to : undefined;
  if (to !== undefined && to !== null && typeof to !== 'string') {
    return fail(`/status: expected "handBack.to" a string or null, got ${showValue(to)}`);
  }
  return ok({
    nodeId: nodeId ?? undefined,
    clusterId: clusterId ?? '',
    dbs,
    appVersion: appVersion ?? undefined,
    synced: synced ?? undefined,
    lagMs: lagMs ?? undefined,
    appReady,
    handingBackTo: to ?? undefined,
  });
}
