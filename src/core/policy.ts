// The options the pure core reads (decide, rules, derive, health, doctor, restart): the core's
// own type, so the core imports nothing from src/config. src/config/types.ts checks that its
// `Config` is assignable to it, so the loaded configuration is a Policy as it stands.
// Durations are milliseconds.

export type Bootstrap = 'auto' | 'never' | 'force';
export type OnPromotion = 'migrate' | 'none';
export type PromoteWhen = 'new-version' | 'always';
export type RestartPolicy = 'never' | 'on-failure' | 'always';
export type HandBack = 'on' | 'off';

export interface Policy {
  mountDir: string;
  litefsUrl: string;
  db: string[];
  migrateTimeout: number;
  /** S1: retries of a failed --migrate command (backoff 1 s, 2 s, 4 s...). */
  migrateRetries: number;
  promote: boolean;
  promoteTimeout: number;
  onPromotion: OnPromotion;
  /** S5: when --promote asks for the lease. */
  promoteWhen: PromoteWhen;
  /** Environment variable holding this app version (--version-env). */
  versionEnv: string;
  /** This node's app version: the value of --version-env; undefined when unset or empty. */
  appVersion: string | undefined;
  /** Handover on stop, bounded by this; 0 = off. */
  handoffTimeout: number;
  /**
   * S14: a primary whose app cannot serve (booting after its migrations, a failed migration
   * waiting for its next try, a crashed app waiting to restart) hands the lease to a synced
   * candidate whose app is ready; `off` keeps the lease (the old order).
   */
  handBack: HandBack;
  bootstrap: Bootstrap;
  peers: string | undefined;
  /**
   * The cluster record's Consul key (docs/design.md section 3, "cluster record"), resolved by
   * the config loader; undefined when it is off (no Consul lease, `--cluster-record off`).
   */
  clusterRecord: string | undefined;
  peerWait: number;
  stateFile: string;
  fenceTimeout: number;
  backupDir: string | undefined;
  minFreeDisk: number;
  /** Compaction: aborted after this (ms) unless the import was sent. */
  compactTimeout: number;
  /** Compaction: free pages below this percent of the file: nothing to gain, nothing done. */
  compactThreshold: number;
  maxLag: number;
  /** 0 = wait forever. */
  syncTimeout: number;
  restart: RestartPolicy;
  restartMax: number;
  /** The first restart's backoff; it doubles up to 30 s. */
  restartDelay: number;
  shutdownTimeout: number;
  /**
   * When the app counts as ready (docs/design.md section 6, "readiness"): `none` (at spawn),
   * `tcp://HOST:PORT` (it accepts a connection) or an http(s) URL (a GET answers 2xx/3xx).
   */
  appReady: string;
  /** How long a started app may take to become ready; then it is stopped and the run exits 6. */
  appReadyTimeout: number;
  standalone: boolean;
  /**
   * The hostname this node's LiteFS announces in the lease: litefs.yml `lease.hostname`, else
   * the machine's host name (LiteFS's own default). A node whose LiteFS names this as the
   * primary while not primary is in a transient, not a replica (docs/design.md section 3, role).
   */
  hostname: string | undefined;
  /** The app command after `--` (argv, not a shell string). */
  command: string[];
}

/** Whether this node asks peers at all: `--peers` names them, and not in --standalone. */
export function asksPeers(config: Pick<Policy, 'peers' | 'standalone'>): boolean {
  return config.peers !== undefined && !config.standalone;
}

/** Whether the cluster record in Consul is read and written (never in --standalone). */
export function keepsRecord(config: Pick<Policy, 'clusterRecord' | 'standalone'>): boolean {
  return config.clusterRecord !== undefined && !config.standalone;
}

/**
 * Whether a primary's checks (S2/S3) gather evidence from outside this node: the peers, the
 * cluster record, or both, read together at the same decision points.
 */
export function gathersEvidence(
  config: Pick<Policy, 'peers' | 'clusterRecord' | 'standalone'>,
): boolean {
  return asksPeers(config) || keepsRecord(config);
}
