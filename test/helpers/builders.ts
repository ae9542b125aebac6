// Builders for core tests: a config with docs/design.md's defaults and observations of a node in
// a given situation, so each table row states only what matters to it.

import { defaultConfig } from '../../src/config/schema.js';
import type { Config } from '../../src/config/types.js';
import { decide } from '../../src/core/decide/index.js';
import { checkInvariants } from '../../src/core/invariants.js';
import type { DbObservation, DiskSpace, Observation } from '../../src/core/observation.js';
import type { PeerAnswer, PeerReport } from '../../src/core/peer-types.js';
import {
  type Action,
  configuredCommands,
  type Input,
  initialState,
  type SupervisorState,
} from '../../src/core/state.js';

/**
 * The table's defaults (src/config/schema.ts), with what the core tests assume of a node
 * besides: it runs under LiteFS with its default data dir (the loader derives it from
 * litefs.yml), gates one db and has one migration (S1 is what most rows exercise), an app
 * command; and, as the rows were written before the handover on stop and --promote-when
 * existed, --promote-when always (a candidate asks without version evidence) and no handover
 * on stop (--handoff-timeout 0: the stop rows stop at once; the handover rows set it).
 */
export function testConfig(over: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    dataDir: '/var/lib/litefs',
    db: ['sqlite.db'],
    migrate: ['npx prisma migrate deploy'],
    command: ['npm', 'start'],
    promoteWhen: 'always',
    handoffTimeout: 0,
    ...over,
  };
}

export interface DbSpec {
  name?: string;
  txid?: bigint | 'absent';
  size?: number;
  header?: boolean;
  exists?: boolean;
  /**
   * Pages per the SQLite header. Default: 1 at TXID 0 (a db LiteFS created, no table yet),
   * else size / 4096.
   */
  pages?: number;
  /** The db could not be read (EIO...): state unknown. */
  error?: string;
}

export function db(spec: DbSpec = {}): DbObservation {
  const exists = spec.exists ?? true;
  const size = exists ? (spec.size ?? 8192) : 0;
  const txid = spec.txid ?? 5n;
  const validHeader = exists && size > 0 && (spec.header ?? true);
  const pages = spec.pages ?? (txid === 0n ? 1 : Math.floor(size / 4096));
  return {
    name: spec.name ?? 'sqlite.db',
    ...(spec.error ? { error: spec.error } : {}),
    exists,
    sizeBytes: size,
    validHeader,
    ...(validHeader ? { pageSize: 4096, pageCount: pages } : {}),
    pos:
      txid === 'absent'
        ? { kind: 'absent' }
        : { kind: 'present', value: { txid, checksum: 'a1b2c3d4e5f60718' } },
  };
}

export interface ObsSpec {
  at?: number;
  /** 'down' = /info not answering. */
  role: 'primary' | 'replica' | 'unknown' | 'down';
  primary?: string;
  /** ms, 'unsynced' (+2147483647), 'absent' (older LiteFS) */
  lag?: number | 'unsynced' | 'absent';
  dbs?: DbObservation[];
  /** `.primary` missing although a replica (e.g. a moment during handoff). */
  noPrimaryFile?: boolean;
  candidate?: boolean;
  clusterId?: string;
  disk?: DiskSpace;
}

export const CLUSTER = 'LFSC0000000000000001';

export function peer(o: {
  url?: string;
  nodeId?: string;
  txid?: bigint;
  candidate?: boolean;
  isPrimary?: boolean;
  clusterId?: string;
  db?: string;
  /** Pages of its copy (default: 1 at TXID 0, else 2). */
  pages?: number;
  /** Its supervisor's high-water mark (evidence from a supervisor). */
  hwm?: bigint;
  /** The peer has no copy of the db at all. */
  noCopy?: boolean;
}): PeerAnswer {
  const txid = o.txid ?? 0n;
  const pages = o.pages ?? (txid === 0n ? 1 : 2);
  return {
    url: o.url ?? 'http://[fdaa::2]:20202',
    ok: true,
    nodeId: o.nodeId ?? 'BBBBBBBBBBBBBBBB',
    clusterId: o.clusterId ?? CLUSTER,
    candidate: o.candidate ?? true,
    isPrimary: o.isPrimary ?? false,
    primaryHostname: 'self',
    evidence: o.hwm === undefined ? 'litefs' : 'supervisor',
    dbs: o.noCopy
      ? {}
      : {
          [o.db ?? 'sqlite.db']: {
            txid,
            checksum: '0000000000000000',
            pageCount: pages,
            hwm: o.hwm,
            hasData: txid > 0n || pages >= 2,
          },
        },
  };
}

export function silent(url = 'http://[fdaa::3]:20202'): PeerAnswer {
  return { url, ok: false, error: 'connect ETIMEDOUT' };
}

export function report(answers: PeerAnswer[], discoveryError?: string): PeerReport {
  return { at: 0, answers, discoveryError };
}

export function obs(spec: ObsSpec): Observation {
  const primary = spec.primary ?? 'node-a';
  const lag = spec.lag ?? (spec.role === 'replica' ? 20 : 0);
  return {
    at: spec.at ?? 0,
    info:
      spec.role === 'down'
        ? { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:20202' }
        : {
            ok: true,
            value: {
              clusterId: spec.clusterId ?? CLUSTER,
              isPrimary: spec.role === 'primary',
              candidate: spec.candidate ?? true,
              path: '/litefs',
              primaryHostname:
                spec.role === 'unknown' ? '' : spec.role === 'primary' ? 'self' : primary,
              nodeId: 'AAAAAAAAAAAAAAAA',
              clusterIdHeader: spec.clusterId ?? CLUSTER,
            },
          },
    primaryFile:
      spec.role === 'replica' && !spec.noPrimaryFile
        ? { kind: 'present', value: primary }
        : { kind: 'absent' },
    lag:
      lag === 'absent'
        ? { kind: 'absent' }
        : lag === 'unsynced'
          ? { kind: 'present', value: { kind: 'unsynced' } }
          : { kind: 'present', value: { kind: 'ms', ms: lag } },
    dbs: spec.dbs ?? [db()],
    disk: spec.disk,
  };
}

/** Feed inputs through decide, as the runner would, keeping every action in order. */
export class Sim {
  state: SupervisorState;
  readonly actions: Action[] = [];
  now = 1_000_000;
  constructor(readonly config: Config) {
    this.state = initialState(this.now, configuredCommands(config));
  }
  feed(input: Input, advanceMs = 0): Action[] {
    this.now += advanceMs;
    const before = structuredClone(this.state);
    const r = decide(this.state, input, this.config, this.now);
    // decide must not mutate its input state
    if (JSON.stringify(before, big) !== JSON.stringify(this.state, big)) {
      throw new Error('decide mutated its input state');
    }
    const broken = checkInvariants(r.state, before, this.now, this.config);
    if (broken.length > 0) {
      throw new Error(`invariant broken after ${input.type}: ${broken.join('; ')}`);
    }
    this.state = r.state;
    this.actions.push(...r.actions);
    return r.actions;
  }
  see(spec: ObsSpec, advanceMs = 0, token?: number): Action[] {
    return this.feed(
      {
        type: 'observation',
        observation: obs({ ...spec, at: this.now }),
        ...(token ? { token } : {}),
      },
      advanceMs,
    );
  }
  /** A --migrate/--before command ended (exit 0 unless said otherwise). */
  commandExit(
    index: number,
    exitCode = 0,
    more: { signal?: string; timedOut?: boolean; spawnError?: string } = {},
  ): Action[] {
    return this.feed({
      type: 'command-exit',
      index,
      exitCode,
      signal: more.signal,
      timedOut: more.timedOut ?? false,
      spawnError: more.spawnError,
      durationMs: 1,
    });
  }
  /** Feed the state file's content (or its absence) as the runner does at start. */
  loadHwm(dbs: Record<string, bigint> | undefined, clusterId = CLUSTER): Action[] {
    if (dbs === undefined) return this.feed({ type: 'hwm-loaded', load: { kind: 'missing' } });
    const file = {
      version: 1 as const,
      clusterId,
      dbs: {} as Record<string, { txid: bigint; updatedAt: string }>,
    };
    for (const [name, txid] of Object.entries(dbs)) file.dbs[name] = { txid, updatedAt: 'x' };
    return this.feed({ type: 'hwm-loaded', load: { kind: 'ok', file } });
  }
  /** Answer the last ask-peers action with this report. */
  answerPeers(r: PeerReport, advanceMs = 0): Action[] {
    const ask = [...this.actions].reverse().find((a) => a.type === 'ask-peers');
    if (ask?.type !== 'ask-peers') throw new Error('no ask-peers action to answer');
    return this.feed({ type: 'peers', token: ask.token, report: r }, advanceMs);
  }
  last<T extends Action['type']>(type: T): Extract<Action, { type: T }> | undefined {
    return [...this.actions].reverse().find((a) => a.type === type) as
      | Extract<Action, { type: T }>
      | undefined;
  }
  /** The token of the last `observe` action (the S1 re-confirmation request). */
  lastToken(): number | undefined {
    const o = [...this.actions].reverse().find((a) => a.type === 'observe');
    return o?.type === 'observe' ? o.token : undefined;
  }
  events(list: Action[] = this.actions): string[] {
    return list.flatMap((a) => (a.type === 'log' ? [a.event] : []));
  }
  types(list: Action[] = this.actions): string[] {
    // persist-hwm is bookkeeping, shown by its own tests; these lists are about behaviour.
    return list.filter((a) => a.type !== 'log' && a.type !== 'persist-hwm').map((a) => a.type);
  }
}

function big(_k: string, v: unknown) {
  return typeof v === 'bigint' ? `${v}n` : v;
}
