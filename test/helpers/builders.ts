// Builders for core tests: a config with DESIGN.md's defaults and observations of a node in
// a given situation, so each table row states only what matters to it.

import type { Config } from '../../src/config/types.js';
import { decide } from '../../src/core/decide.js';
import type { DbObservation, Observation } from '../../src/core/observation.js';
import {
  type Action,
  type Input,
  initialState,
  type SupervisorState,
} from '../../src/core/state.js';

export function testConfig(over: Partial<Config> = {}): Config {
  return {
    configFile: undefined,
    litefsConfig: undefined,
    mountDir: '/litefs',
    dataDir: '/var/lib/litefs',
    litefsUrl: 'http://127.0.0.1:20202',
    db: ['sqlite.db'],
    migrate: ['npx prisma migrate deploy'],
    migrateTimeoutMs: 600_000,
    before: [],
    promote: false,
    promoteTimeoutMs: 30_000,
    onPromotion: 'migrate',
    bootstrap: 'auto',
    peers: undefined,
    peerWaitMs: 30_000,
    stateFile: '/var/lib/litefs-supervisor.json',
    fenceTimeoutMs: 60_000,
    backupDir: undefined,
    backupKeep: 3,
    minFreeDisk: 10,
    maxLagMs: 10_000,
    syncTimeoutMs: 600_000,
    healthAddr: { host: '', port: 9090 },
    pollIntervalMs: 1000,
    restart: 'never',
    restartMax: 5,
    shutdownTimeoutMs: 3000,
    logFormat: 'logfmt',
    logLevel: 'info',
    standalone: false,
    command: ['npm', 'start'],
    ...over,
  };
}

export interface DbSpec {
  name?: string;
  txid?: bigint | 'absent';
  size?: number;
  header?: boolean;
  exists?: boolean;
  /** The db could not be read (EIO...): state unknown. */
  error?: string;
}

export function db(spec: DbSpec = {}): DbObservation {
  const exists = spec.exists ?? true;
  const size = exists ? (spec.size ?? 8192) : 0;
  const txid = spec.txid ?? 5n;
  return {
    name: spec.name ?? 'sqlite.db',
    ...(spec.error ? { error: spec.error } : {}),
    exists,
    sizeBytes: size,
    validHeader: exists && size > 0 && (spec.header ?? true),
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
              clusterId: 'LFSC0000000000000001',
              isPrimary: spec.role === 'primary',
              candidate: true,
              path: '/litefs',
              primaryHostname:
                spec.role === 'unknown' ? '' : spec.role === 'primary' ? 'self' : primary,
              nodeId: 'AAAAAAAAAAAAAAAA',
              clusterIdHeader: 'LFSC0000000000000001',
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
  };
}

/** Feed inputs through decide, as the runner would, keeping every action in order. */
export class Sim {
  state: SupervisorState;
  readonly actions: Action[] = [];
  now = 1_000_000;
  constructor(readonly config: Config) {
    this.state = initialState(this.now, [
      ...config.migrate.map((command) => ({ kind: 'migrate' as const, command })),
      ...config.before.map((command) => ({ kind: 'before' as const, command })),
    ]);
  }
  feed(input: Input, advanceMs = 0): Action[] {
    this.now += advanceMs;
    const before = structuredClone(this.state);
    const r = decide(this.state, input, this.config, this.now);
    // decide must not mutate its input state
    if (JSON.stringify(before, big) !== JSON.stringify(this.state, big)) {
      throw new Error('decide mutated its input state');
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
  /** The token of the last `observe` action (the S1 re-confirmation request). */
  lastToken(): number | undefined {
    const o = [...this.actions].reverse().find((a) => a.type === 'observe');
    return o?.type === 'observe' ? o.token : undefined;
  }
  events(list: Action[] = this.actions): string[] {
    return list.flatMap((a) => (a.type === 'log' ? [a.event] : []));
  }
  types(list: Action[] = this.actions): string[] {
    return list.filter((a) => a.type !== 'log').map((a) => a.type);
  }
}

function big(_k: string, v: unknown) {
  return typeof v === 'bigint' ? `${v}n` : v;
}
