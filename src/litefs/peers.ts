// Asking the other LiteFS nodes of the cluster where they are (docs/design.md section 3, "peers"),
// at decision points only: S2 (is any peer ahead of us?), S3 (did every peer answer?), S4
// (whom to hand the lease to) and S11 (is a new primary behind us?). The pure questions about
// the resulting report live in src/core/peers.ts. Nothing here throws: every failure becomes a
// value in the PeerReport, because "a peer did not answer" is itself an input to S3.

import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PEER_HEALTH_SUFFIX } from '../config/kinds.js';
import type { LitefsInfo, StoreVars } from '../core/litefs-types.js';
import type { SqliteHeader, SupervisorEvidence } from '../core/parse.js';
import type { PeerAnswer, PeerDbEvidence, PeerReport } from '../core/peer-types.js';
import { describeError } from '../system/http-error.js';
import { LitefsClient, type LitefsResult } from './client.js';

export type PeersSpec =
  | { kind: 'dns'; name: string }
  /** `healthPorts`: per LiteFS origin, the port `#health=PORT` named for its supervisor. */
  | { kind: 'urls'; urls: string[]; healthPorts: Record<string, number> };

/** The part of node:dns/promises used here; tests pass a fake. */
export interface DnsResolver {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** The part of LitefsClient used here; tests may pass a fake. */
export interface PeerClient {
  info(): Promise<LitefsResult<LitefsInfo>>;
  debugVars(): Promise<LitefsResult<StoreVars>>;
  exportHead(name: string): Promise<LitefsResult<SqliteHeader | undefined>>;
  close(): Promise<void> | void;
}

/** A peer's supervisor health API (its `GET /status` evidence); tests may pass a fake. */
export interface EvidenceClient {
  supervisorEvidence(): Promise<LitefsResult<SupervisorEvidence>>;
  close(): Promise<void> | void;
}

export interface Discovery {
  /** LiteFS API origins to ask, deduplicated, in discovery order. */
  urls: string[];
  /** Set when discovery failed in a way that may hide peers (PeerReport.discoveryError). */
  error: string | undefined;
}

export interface DiscoverOptions {
  /** LiteFS API port of every peer: the port of --litefs-url (all nodes share litefs.yml). */
  port: number;
  resolver?: DnsResolver;
  /** Bound on each DNS query (default 5000 ms); a query still pending then is an error. */
  timeoutMs?: number;
}

export interface AskPeersOptions {
  spec: PeersSpec;
  port: number;
  /** This node's `Litefs-Id`; a peer answering with it is this node and is dropped. */
  selfNodeId: string | undefined;
  /** The gated dbs whose evidence is asked for. */
  dbs: readonly string[];
  /**
   * Port of the peers' supervisor health API (`--peer-health-port`); undefined: ask LiteFS
   * only (unless `#health=PORT` names one for a URL).
   */
  healthPort: number | undefined;
  /** Bound on DNS discovery, and on each peer's answers taken together. */
  timeoutMs: number;
  now: () => number;
  resolver?: DnsResolver;
  clientFor?: (url: string) => PeerClient;
  evidenceClientFor?: (healthUrl: string) => EvidenceClient;
}

const DEFAULT_DNS_TIMEOUT_MS = 5000;
// Closing a client destroys its sockets at once (undici Pool.destroy); this only bounds an
// injected client whose close() hangs, so it cannot hold the report back.
const CLOSE_GRACE_MS = 500;

/**
 * `--peers` as config validated it (src/config/schema.ts): one DNS name, or a comma-separated
 * list of http(s) URLs. URLs are reduced to their origin, as LitefsClient (and LiteFS's own
 * client, http/client.go) only use scheme, host and port; that also makes `PeerAnswer.url`
 * equal the URL in LitefsClient's messages and keeps credentials out of the report.
 */
export function parsePeersOption(text: string): PeersSpec {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const [only] = items;
  if (items.length === 1 && only !== undefined && !only.includes('://')) {
    return { kind: 'dns', name: only };
  }
  const healthPorts: Record<string, number> = {};
  const urls = items.map((item) => {
    const health = PEER_HEALTH_SUFFIX.exec(item);
    const origin = originOf(item.replace(PEER_HEALTH_SUFFIX, ''));
    if (health) healthPorts[origin] = Number(health[1]);
    return origin;
  });
  return { kind: 'urls', urls: unique(urls), healthPorts };
}

/**
 * A DNS name becomes every A and AAAA record (both asked at once) at the LiteFS port. Fly's
 * `<app>.internal` lists each started machine, this one included (askPeers drops it by node
 * ID). NXDOMAIN/NODATA means nobody is there: no peers, no error. Any other DNS failure may
 * hide peers, so it is reported (S3 must not bootstrap past it), together with whatever the
 * other family found.
 */
export async function discoverPeers(spec: PeersSpec, options: DiscoverOptions): Promise<Discovery> {
  if (spec.kind === 'urls') return { urls: [...spec.urls], error: undefined };
  const { name } = spec;
  const timeoutMs = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  // The name passes config's DNS-name check even when it is an IPv4 literal (`10.0.0.2`),
  // and c-ares (dns.resolve*) sends a literal to the DNS server as a name: NXDOMAIN, which
  // would read as "no peers" and let an empty node bootstrap (S3). A literal is its address.
  if (isIP(name) !== 0) return { urls: [peerUrl(name, options.port)], error: undefined };

  // Our own resolver can be cancelled, so a query past the deadline does not linger; a
  // second try covers one lost UDP packet, and the deadline in lookup() bounds the total.
  const own =
    options.resolver === undefined
      ? new Resolver({ timeout: Math.max(1, Math.ceil(timeoutMs / 2)), tries: 2 })
      : undefined;
  const resolver: DnsResolver = options.resolver ?? own!;
  try {
    const [a, aaaa] = await Promise.all([
      lookup('A', name, (n) => resolver.resolve4(n), timeoutMs),
      lookup('AAAA', name, (n) => resolver.resolve6(n), timeoutMs),
    ]);
    const urls = unique([...a.addresses, ...aaaa.addresses].map((ip) => peerUrl(ip, options.port)));
    const errors = [a.error, aaaa.error].filter((e): e is string => e !== undefined);
    return { urls, error: errors.length === 0 ? undefined : errors.join('; ') };
  } finally {
    own?.cancel();
  }
}

async function lookup(
  family: 'A' | 'AAAA',
  name: string,
  resolve: (name: string) => Promise<string[]>,
  timeoutMs: number,
): Promise<{ addresses: string[]; error?: string }> {
  const clock = deadline(timeoutMs);
  try {
    const result = await clock.race(Promise.resolve().then(() => resolve(name)));
    if (result === TIMED_OUT) {
      return {
        addresses: [],
        error: `DNS ${family} lookup of ${name}: no answer within ${timeoutMs} ms`,
      };
    }
    return { addresses: result };
  } catch (err) {
    // c-ares codes (node:dns): ENOTFOUND = NXDOMAIN, ENODATA = the name exists without
    // records of this family (Fly's .internal has AAAA only). Both mean "no peer here".
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { addresses: [] };
    return {
      addresses: [],
      error: `DNS ${family} lookup of ${name} failed: ${describeError(err, timeoutMs)}`,
    };
  } finally {
    clock.clear();
  }
}

/**
 * Discovers the peers and asks each, concurrently, for /info and /debug/vars. Each peer gets
 * `timeoutMs` for both answers together, so one hanging node delays the report by at most
 * `timeoutMs` (plus DNS, bounded the same way). Never throws; closes every client it made.
 */
export async function askPeers(options: AskPeersOptions): Promise<PeerReport> {
  const { timeoutMs, now } = options;
  try {
    const discovery = await discoverPeers(options.spec, {
      port: options.port,
      timeoutMs,
      ...(options.resolver ? { resolver: options.resolver } : {}),
    });
    const client =
      (connections: number) =>
      (url: string): LitefsClient =>
        new LitefsClient({
          url,
          headersTimeoutMs: timeoutMs,
          bodyTimeoutMs: timeoutMs,
          connections,
        });
    const clientFor = options.clientFor ?? client(2);
    const evidenceClientFor = options.evidenceClientFor ?? client(1);
    const explicit = options.spec.kind === 'urls' ? options.spec.healthPorts : {};
    const results = await Promise.all(
      discovery.urls.map((url) =>
        askPeer(url, healthUrlOf(url, explicit[url] ?? options.healthPort), {
          selfNodeId: options.selfNodeId,
          dbs: options.dbs,
          timeoutMs,
          clientFor,
          evidenceClientFor,
        }),
      ),
    );
    const answers: PeerAnswer[] = [];
    const seen = new Set<string>();
    for (const result of results) {
      if (result === SELF) continue;
      if (result.ok) {
        // One node reachable at two addresses (A and AAAA, or two listed URLs) is one peer.
        const id = result.nodeId.toUpperCase();
        if (seen.has(id)) continue;
        seen.add(id);
      }
      answers.push(result);
    }
    return { at: now(), answers, discoveryError: discovery.error };
  } catch (err) {
    // Not expected (every step above returns values); if it happens, fail closed: an error
    // in discoveryError keeps S3 from treating "no answers" as "no peers".
    return {
      at: now(),
      answers: [],
      discoveryError: `asking peers failed: ${describeError(err, timeoutMs)}`,
    };
  }
}

const SELF = Symbol('self');

interface AskOne {
  selfNodeId: string | undefined;
  dbs: readonly string[];
  timeoutMs: number;
  clientFor: (url: string) => PeerClient;
  evidenceClientFor: (healthUrl: string) => EvidenceClient;
}

/** The peer's supervisor health URL: the LiteFS host at `port`; undefined without a port. */
export function healthUrlOf(litefsUrl: string, port: number | undefined): string | undefined {
  if (port === undefined) return undefined;
  try {
    const u = new URL(litefsUrl);
    u.port = String(port);
    return u.origin;
  } catch {
    return undefined;
  }
}

/**
 * One peer: its LiteFS /info (node ID, candidate, primary) and its evidence per gated db, from
 * its supervisor's /status when one answers for the same LiteFS node, else from LiteFS alone
 * (/debug/vars for the TXID, the header of /export for the pages). Evidence that cannot be read
 * makes the peer "not answered", never "empty" (docs/design.md section 3).
 */
async function askPeer(
  url: string,
  healthUrl: string | undefined,
  o: AskOne,
): Promise<PeerAnswer | typeof SELF> {
  const { timeoutMs } = o;
  const fail = (error: string): PeerAnswer => ({
    url,
    ok: false,
    error: error.includes(url) ? error : `${url}: ${error}`,
  });
  let client: PeerClient;
  let evidenceClient: EvidenceClient | undefined;
  try {
    client = o.clientFor(url);
    if (healthUrl !== undefined) evidenceClient = o.evidenceClientFor(healthUrl);
  } catch (err) {
    return fail(`cannot create a LiteFS client: ${describeError(err, timeoutMs)}`);
  }
  const clock = deadline(timeoutMs);
  try {
    // Asked at once, so a peer costs one round trip. /debug/vars carries no Litefs-Id
    // (docs/litefs-facts.md "HTTP API"), so the node is identified by its /info answer.
    const infoAnswer = settle(() => client.info(), timeoutMs);
    const statusAnswer = evidenceClient
      ? settle(() => evidenceClient.supervisorEvidence(), timeoutMs)
      : undefined;

    const info = await clock.race(infoAnswer);
    if (info === TIMED_OUT) return fail(`GET ${url}/info: no answer within ${timeoutMs} ms`);
    if (!info.ok) return fail(info.error);
    const { nodeId } = info.value;
    if (nodeId === undefined) {
      // Without an ID it could be this very node, and it could not be a /handoff target:
      // count it as unanswered (S3 then waits and fences) rather than guess.
      return fail(
        `GET ${url}/info: no Litefs-Id header, so it cannot be told apart from this node (LiteFS too old?)`,
      );
    }
    // Fly's DNS lists this machine too. Node IDs are hex that LiteFS parses in either case.
    if (o.selfNodeId !== undefined && nodeId.toUpperCase() === o.selfNodeId.toUpperCase()) {
      return SELF;
    }
    const base = {
      url,
      ok: true as const,
      nodeId,
      // The header and the body come from the same store field (http/server.go); prefer the
      // header as the ID LiteFS stamps on every answer, the body for a LiteFS without it.
      clusterId: info.value.clusterIdHeader ?? info.value.clusterId,
      candidate: info.value.candidate,
      isPrimary: info.value.isPrimary,
      primaryHostname: info.value.primaryHostname,
    };

    const status = statusAnswer ? await clock.race(statusAnswer) : undefined;
    const fromSupervisor =
      status !== undefined && status !== TIMED_OUT && status.ok
        ? supervisorDbs(status.value, nodeId, o.dbs)
        : undefined;
    if (fromSupervisor && status !== undefined && status !== TIMED_OUT && status.ok) {
      const { appVersion, synced, lagMs, appReady, handingBackTo } = status.value;
      return {
        ...base,
        evidence: 'supervisor',
        dbs: fromSupervisor,
        appVersion,
        synced,
        lagMs,
        appReady,
        handingBackTo,
      };
    }

    const litefs = await clock.race(litefsDbs(client, o.dbs, timeoutMs));
    if (litefs === TIMED_OUT) {
      return fail(`GET ${url}/debug/vars and /export: no answer within ${timeoutMs} ms`);
    }
    if (!litefs.ok) return fail(litefs.error);
    return { ...base, evidence: 'litefs', dbs: litefs.value };
  } finally {
    clock.clear();
    // Ends requests still in flight (a hanging peer), so nothing outlives the report.
    const closing = deadline(CLOSE_GRACE_MS);
    await closing.race(
      Promise.all([client.close(), evidenceClient?.close()])
        .then(() => {})
        .catch(() => {}),
    );
    closing.clear();
  }
}

/**
 * The supervisor's evidence, when it speaks for the node LiteFS just named (node IDs change at
 * every LiteFS restart, so a supervisor still showing the old one is stale) and covers every
 * gated db; else undefined (ask LiteFS instead).
 */
function supervisorDbs(
  e: SupervisorEvidence,
  nodeId: string,
  dbs: readonly string[],
): Record<string, PeerDbEvidence> | undefined {
  if (e.nodeId === undefined || e.nodeId.toUpperCase() !== nodeId.toUpperCase()) return undefined;
  const out: Record<string, PeerDbEvidence> = {};
  for (const name of dbs) {
    const db = e.dbs[name];
    if (db === undefined) return undefined;
    out[name] = {
      txid: db.txid,
      checksum: undefined,
      pageCount: db.pageCount,
      hwm: db.hwm,
      // What the database holds, never what the node remembers: a peer whose db was removed
      // keeps its high-water mark in its state file, and S4 must not hand the lease to it. The
      // mark still counts where it orders the cluster (S2, peersAhead reads `hwm` itself).
      hasData: db.hasData || db.txid > 0n || (db.pageCount ?? 0) >= 2,
    };
  }
  return out;
}

/** LiteFS alone: TXIDs from /debug/vars, pages from the header of each gated db's /export. */
async function litefsDbs(
  client: PeerClient,
  dbs: readonly string[],
  timeoutMs: number,
): Promise<LitefsResult<Record<string, PeerDbEvidence>>> {
  const [vars, ...heads] = await Promise.all([
    settle(() => client.debugVars(), timeoutMs),
    ...dbs.map((name) => settle(() => client.exportHead(name), timeoutMs)),
  ]);
  if (!vars!.ok) return vars as LitefsResult<never>;
  const varsDbs = (vars as { ok: true; value: StoreVars }).value.dbs;
  const out: Record<string, PeerDbEvidence> = {};
  for (const [i, name] of dbs.entries()) {
    const head = heads[i] as LitefsResult<SqliteHeader | undefined>;
    if (!head.ok) return head;
    const pos = varsDbs[name];
    if (pos === undefined && head.value === undefined) continue; // no copy at all
    const txid = pos?.txid ?? 0n;
    const pageCount = head.value === undefined ? 0 : head.value.pageCount;
    out[name] = {
      txid,
      checksum: pos?.checksum,
      pageCount,
      hwm: undefined,
      hasData: txid > 0n || (pageCount ?? 0) >= 2,
    };
  }
  return { ok: true, value: out };
}

/** Runs `fn`; a throw or rejection becomes `{ ok: false }` like the client's own failures. */
function settle<T>(
  fn: () => Promise<LitefsResult<T>>,
  timeoutMs: number,
): Promise<LitefsResult<T>> {
  return Promise.resolve()
    .then(fn)
    .catch((err): LitefsResult<T> => ({ ok: false, error: describeError(err, timeoutMs) }));
}

const TIMED_OUT = Symbol('timed out');

/** One timer shared by several awaits; always clear() it so no timer outlives the work. */
function deadline(ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return {
    race<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
      return Promise.race([promise, expired]);
    },
    clear(): void {
      clearTimeout(timer);
    },
  };
}

/** `http://<addr>:<port>`, IPv6 in brackets, normalised the way LitefsClient.url is. */
function peerUrl(address: string, port: number): string {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return originOf(`http://${host}:${port}`);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    // Config validated it; if not, LitefsClient's constructor reports it for this peer.
    return url;
  }
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
