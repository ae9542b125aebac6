// The nemesis's schedule (bench/nemesis.mjs): which faults hit the cluster, in which order, drawn
// from a seeded PRNG so that a seed always gives the same list. Pure: no clock, no I/O. The
// schedule names a target by role (the primary, a replica, a stopped node) plus a number that
// picks one among several; the runner resolves them against the running cluster, since which
// node holds the lease is only known then. A model of the cluster's membership (how many nodes
// run, are stopped, exist) keeps every drawn operation possible: never stop the last running
// node, never destroy data unless another node runs (or holds it), scale in only above two nodes.

/** What the nemesis does at one step. */
export type OpKind =
  /** A rolling deploy: every running node stopped and started again with a new FLY_IMAGE_REF. */
  | 'deploy'
  /** One node stopped (SIGINT) and started again at once, as `fly machine restart`. */
  | 'restart'
  /** One node stopped and left stopped until a `start`. */
  | 'stop'
  /** A stopped node started, with --peers naming only the nodes running then. */
  | 'start'
  /** kill -9 of LiteFS: the machine dies (its supervisor and app with it) and restarts later. */
  | 'kill-litefs'
  /** kill -9 of LiteFS's exec command (the supervisor, or the app with the exec block); its app's process group cleaned as Fly's machine stop would; the machine restarts later. */
  | 'kill-exec'
  /** A fresh node (new volume) joins. */
  | 'scale-out'
  /** A node is destroyed with its volume. */
  | 'scale-in'
  /** Operator mistake: `rm -rf <data.dir>/dbs/<db>`. */
  | 'rm-db'
  /** Operator mistake: `rm <data.dir>/dbs/<db>/ltx/*` (the seed incident's step). */
  | 'rm-ltx'
  /** Operator mistake: the database file truncated to zero bytes. */
  | 'truncate-db'
  /** Operator mistake: a replica's whole volume wiped (data dir and state file). */
  | 'wipe-volume'
  /** Operator mistake: the supervisor's state file deleted. */
  | 'rm-state'
  /** Consul has no leader for a while (the stand-in's outage mode). */
  | 'consul-outage'
  /** The lease holder's Consul session expires. */
  | 'expire-session'
  /** A deploy whose migration fails on one node, then rolled back on that node. */
  | 'failing-migration';

export type Role = 'primary' | 'replica' | 'stopped';

export interface PlannedOp {
  /** 0-based position in the schedule. */
  index: number;
  kind: OpKind;
  /** Which node: by role at the time the step runs. Absent for cluster-wide operations. */
  role?: Role;
  /** Picks among several candidates for the role (index modulo their count, by name). */
  pick: number;
  /** kill-litefs, kill-exec: how long the machine stays down before it restarts (ms). */
  downMs?: number;
  /** consul-outage: how long Consul has no leader (ms). */
  durationMs?: number;
}

/** Operations that destroy a node's data: only when another node holds every acknowledged write. */
export const DESTRUCTIVE: ReadonlySet<OpKind> = new Set([
  'rm-db',
  'truncate-db',
  'wipe-volume',
  'scale-in',
]);

/** A tiny seeded PRNG (mulberry32): uniform floats in [0, 1), the same sequence for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Membership as the schedule sees it. */
export interface Membership {
  running: number;
  stopped: number;
  /** Nodes that exist (running or stopped); scale-in removes one, scale-out adds one. */
  existing: number;
  /** At most this many nodes exist at once. */
  maxNodes: number;
}

/** Relative weights of the operations (before the constraints). */
const WEIGHTS: Record<OpKind, number> = {
  deploy: 2,
  restart: 3,
  stop: 2,
  start: 2,
  'kill-litefs': 3,
  'kill-exec': 2,
  'scale-out': 1,
  'scale-in': 1,
  'rm-db': 1,
  'rm-ltx': 1,
  'truncate-db': 1,
  'wipe-volume': 1,
  'rm-state': 1,
  'consul-outage': 1,
  'expire-session': 2,
  'failing-migration': 1,
};

/** The roles an operation may target in this membership; [] when it is not possible now. */
export function rolesFor(kind: OpKind, m: Membership): (Role | undefined)[] {
  const running: Role[] =
    m.running >= 2 ? ['primary', 'replica'] : m.running === 1 ? ['primary'] : [];
  const stopped: Role[] = m.stopped >= 1 ? ['stopped'] : [];
  switch (kind) {
    case 'deploy':
    case 'consul-outage':
    case 'expire-session':
      return m.running >= 1 ? [undefined] : [];
    case 'restart':
    case 'kill-litefs':
    case 'kill-exec':
    case 'failing-migration':
      return running;
    case 'stop':
      // Never the last running node: writes need somewhere to go.
      return m.running >= 2 ? running : [];
    case 'start':
      return stopped;
    case 'scale-out':
      return m.existing < m.maxNodes ? [undefined] : [];
    case 'scale-in':
      // Two nodes stay; a running one only when another keeps running.
      if (m.existing < 3) return [];
      return [...(m.running >= 2 ? running : []), ...(m.running >= 1 ? stopped : [])];
    case 'rm-db':
    case 'truncate-db':
      // Destroys data: another node must run (and hold every acknowledged write, checked then).
      return [...(m.running >= 2 ? running : []), ...(m.running >= 1 ? stopped : [])];
    case 'wipe-volume':
      return [
        ...(m.running >= 2 ? (['replica'] as Role[]) : []),
        ...(m.running >= 1 ? stopped : []),
      ];
    case 'rm-ltx':
    case 'rm-state':
      return [...running, ...stopped];
  }
}

/** Membership after the operation. */
export function applyOp(m: Membership, kind: OpKind, role: Role | undefined): Membership {
  switch (kind) {
    case 'stop':
      return { ...m, running: m.running - 1, stopped: m.stopped + 1 };
    case 'start':
      return { ...m, running: m.running + 1, stopped: m.stopped - 1 };
    case 'scale-out':
      return { ...m, running: m.running + 1, existing: m.existing + 1 };
    case 'scale-in':
      return role === 'stopped'
        ? { ...m, stopped: m.stopped - 1, existing: m.existing - 1 }
        : { ...m, running: m.running - 1, existing: m.existing - 1 };
    default:
      return m;
  }
}

export interface Schedule {
  seed: number;
  ops: PlannedOp[];
  /** How many scale-outs it holds: the runner creates that many spare nodes. */
  scaleOuts: number;
}

/**
 * `steps` operations for a cluster of `nodes` running nodes, the same for the same arguments.
 * At most `nodes + 2` nodes exist at once.
 */
export function drawSchedule(seed: number, steps: number, nodes: number): Schedule {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  let m: Membership = { running: nodes, stopped: 0, existing: nodes, maxNodes: nodes + 2 };
  const ops: PlannedOp[] = [];
  const kinds = Object.keys(WEIGHTS) as OpKind[];
  for (let index = 0; index < steps; index++) {
    const options = kinds
      .map((kind) => ({ kind, roles: rolesFor(kind, m) }))
      .filter((o) => o.roles.length > 0);
    // A stopped node comes back more often than it stays away.
    const weight = (k: OpKind) => (k === 'start' ? WEIGHTS.start + 2 * m.stopped : WEIGHTS[k]);
    const total = options.reduce((s, o) => s + weight(o.kind), 0);
    let r = rand() * total;
    let chosen = options[options.length - 1]!;
    for (const o of options) {
      r -= weight(o.kind);
      if (r < 0) {
        chosen = o;
        break;
      }
    }
    const role = chosen.roles[int(0, chosen.roles.length - 1)];
    const op: PlannedOp = { index, kind: chosen.kind, pick: int(0, 999) };
    if (role !== undefined) op.role = role;
    if (chosen.kind === 'kill-litefs' || chosen.kind === 'kill-exec') op.downMs = int(500, 3000);
    if (chosen.kind === 'consul-outage') op.durationMs = int(3000, 10_000);
    ops.push(op);
    m = applyOp(m, chosen.kind, role);
  }
  return { seed, ops, scaleOuts: ops.filter((o) => o.kind === 'scale-out').length };
}

/**
 * The seed incident (INCIDENT.txt) as a schedule: the other nodes stopped, the data holder
 * restarted alone with its LTX files gone (history lost: TXID 0, every page kept), an emptied
 * node (`rm -rf dbs/<db>`) started next to it. With LiteFS's exec block the emptied node takes
 * the lease (`promote: true`), its migration writes TXID 1 and the snapshot replaces the holder's
 * database. The remaining stopped nodes start at the end, as after every schedule.
 */
export function incidentSchedule(nodes: number): Schedule {
  const ops: PlannedOp[] = [];
  const add = (kind: OpKind, role: Role, pick = 0) => {
    ops.push({ index: ops.length, kind, role, pick });
  };
  for (let i = 1; i < nodes; i++) add('stop', 'replica');
  add('rm-ltx', 'primary');
  add('rm-db', 'stopped');
  add('start', 'stopped');
  return { seed: 0, ops, scaleOuts: 0 };
}

/** One line per operation, for logs and the result: `3 kill-litefs primary down 1200ms`. */
export function describeOp(op: PlannedOp): string {
  const parts = [String(op.index), op.kind];
  if (op.role) parts.push(op.role);
  if (op.downMs !== undefined) parts.push(`down ${op.downMs}ms`);
  if (op.durationMs !== undefined) parts.push(`for ${op.durationMs}ms`);
  return parts.join(' ');
}
