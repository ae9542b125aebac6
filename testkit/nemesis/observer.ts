// The nemesis's eyes on a running cluster (testkit/nemesis/runner.ts): every 100 ms each node's
// /info (evidence of who held the lease, for the checker's lease periods), every 500 ms whether
// it passes Fly's checks (which nodes take users' writes), its TXID and, on a replica, its
// replication lag. A node being stopped on purpose is drained first, as Fly stops routing to a
// machine it stops, and takes writes again only once it passes its checks after a start.

import type { LitefsNode } from '../real-litefs.js';
import type { LeaseEvidence, Position } from './checker.js';
import { isPrimary, lagOf, passesChecks, txidOf } from './node-io.js';

/** A node followed a primary (its lag could be read) from `from` to `to`. */
export interface FollowSpell {
  node: string;
  from: number;
  to: number;
}

export interface LagSample {
  node: string;
  at: number;
  ms: number;
}

export class Observer {
  readonly evidence: LeaseEvidence[] = [];
  readonly lags: LagSample[] = [];
  /** Closed and open spells of following a primary, per node. */
  readonly following: FollowSpell[] = [];
  private readonly openSpell = new Map<string, FollowSpell>();
  /** Nodes that take users' writes now. */
  readonly inService = new Set<string>();
  /** Every TXID a node reported, with when. */
  readonly positions: Position[] = [];
  private readonly draining = new Set<string>();
  private readonly wasRunning = new Map<string, boolean>();
  private readonly failedChecks = new Map<string, number>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly nodes: () => LitefsNode[],
    private readonly supervised: boolean,
  ) {}

  start(): void {
    this.loops = [this.every(100, () => this.pollInfo()), this.every(500, () => this.pollSlow())];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Stop routing writes to this node (it is about to be stopped). */
  drain(name: string): void {
    this.draining.add(name);
    this.inService.delete(name);
    this.endSpell(name, Date.now());
  }

  private endSpell(name: string, at: number): void {
    const open = this.openSpell.get(name);
    if (!open) return;
    open.to = at;
    this.openSpell.delete(name);
  }

  private follows(name: string, at: number): void {
    const open = this.openSpell.get(name);
    if (open) {
      open.to = at;
      return;
    }
    const spell = { node: name, from: at, to: at };
    this.following.push(spell);
    this.openSpell.set(name, spell);
  }

  /** The node was started: it takes writes once it passes its checks. */
  undrain(name: string): void {
    this.draining.delete(name);
  }

  get maxLagMs(): number {
    return this.lags.reduce((m, l) => Math.max(m, l.ms), 0);
  }

  private async every(ms: number, fn: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      try {
        await fn();
      } catch {}
      const spent = Date.now() - started;
      if (spent < ms) await new Promise((r) => setTimeout(r, ms - spent));
    }
  }

  private async pollInfo(): Promise<void> {
    await Promise.all(
      this.nodes().map(async (n) => {
        const running = n.running();
        if (!running) {
          // A node that is not running holds no lease it can write with.
          if (this.wasRunning.get(n.name) !== false) {
            this.evidence.push({ node: n.name, at: Date.now(), primary: false });
          }
          this.wasRunning.set(n.name, false);
          return;
        }
        this.wasRunning.set(n.name, true);
        const sent = Date.now();
        const primary = await isPrimary(n, 500);
        if (primary === undefined) return;
        // LiteFS answered at some moment between sending and receiving. A "no" is placed when it
        // was asked: placed later, it could land after the log line of a lease acquired while
        // the answer travelled and cut that lease short; a "yes" in the middle.
        const at = primary ? Math.round((sent + Date.now()) / 2) : sent;
        this.evidence.push({ node: n.name, at, primary });
      }),
    );
  }

  private async pollSlow(): Promise<void> {
    await Promise.all(
      this.nodes().map(async (n) => {
        if (!n.running()) {
          this.inService.delete(n.name);
          this.endSpell(n.name, Date.now());
          return;
        }
        const [ok, txid] = await Promise.all([passesChecks(n, this.supervised), txidOf(n)]);
        const failed = ok ? 0 : (this.failedChecks.get(n.name) ?? 0) + 1;
        this.failedChecks.set(n.name, failed);
        if (ok && !this.draining.has(n.name)) this.inService.add(n.name);
        // Fly takes a machine out of routing once its checks fail, not at one slow answer.
        if (failed >= 2) this.inService.delete(n.name);
        if (txid !== undefined) this.positions.push({ node: n.name, at: Date.now(), txid });
        const lag = lagOf(n);
        const at = Date.now();
        if (lag === undefined) this.endSpell(n.name, at);
        else {
          this.lags.push({ node: n.name, at, ms: lag });
          this.follows(n.name, at);
        }
      }),
    );
  }
}
