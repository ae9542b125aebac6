// The supervisor's options for one LiteFS node (a FakeLitefs or a FakeCluster node): shared by
// the end-to-end tests, the fault suite, the benchmarks and the incident demo.

export interface NodeArgsOptions {
  /** Stands in for LiteFS's data dir: the volume whose free space S9 measures. */
  dataDir: string;
  /** Default `<dataDir>/state.json`. */
  stateFile?: string;
  db?: string;
  /** Default `127.0.0.1:0` (a free port, announced in the health.listen log line). */
  healthAddr?: string;
  /** Default 100ms: tests and demos should not wait a second per observation. */
  pollInterval?: string;
  /**
   * The node's litefs.yml (FakeCluster.litefsConfig): the only place the supervisor learns of
   * the lease's Consul, so the cluster record is on only with it. Default `none`.
   */
  litefsConfig?: string;
}

export function supervisorArgsFor(node: { url: string; mountDir: string }, o: NodeArgsOptions) {
  return [
    '--litefs-config',
    o.litefsConfig ?? 'none',
    '--litefs-url',
    node.url,
    '--mount-dir',
    node.mountDir,
    '--data-dir',
    o.dataDir,
    '--db',
    o.db ?? 'sqlite.db',
    '--state-file',
    o.stateFile ?? `${o.dataDir}/state.json`,
    '--health-addr',
    o.healthAddr ?? '127.0.0.1:0',
    '--poll-interval',
    o.pollInterval ?? '100ms',
  ];
}
