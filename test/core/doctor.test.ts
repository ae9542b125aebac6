// diagnose (src/core/doctor.ts), table-style: each finding shown appearing and not appearing,
// with the exit it implies (report.ok). Facts are built here; the gathering is tested end to
// end in test/e2e/doctor.test.ts.

import t from 'tap';
import type { Config } from '../../src/config/types.js';
import { diagnose } from '../../src/core/doctor.js';
import type {
  DataDirDb,
  DataDirFacts,
  DoctorFacts,
  StateFileRead,
} from '../../src/core/doctor-facts.js';
import type { DbObservation, DiskSpace, Observation } from '../../src/core/observation.js';
import type { PeerReport } from '../../src/core/peer-types.js';
import { CLUSTER, db, obs, peer, report, silent, testConfig } from '../helpers/builders.js';

const GiB = 1024 ** 3;
const roomy: DiskSpace = {
  ok: true,
  path: '/var/lib/litefs',
  freeBytes: 5 * GiB,
  totalBytes: 10 * GiB,
};

function dataDb(o: {
  pages?: number;
  ltx?: [number, number] | 'none';
  header?: boolean;
  exists?: boolean;
  ltxHeaderOk?: boolean;
  walBytes?: number;
}): DataDirDb {
  const exists = o.exists ?? true;
  const pages = o.pages ?? 5;
  const ltx = o.ltx ?? [1, 5];
  return {
    name: 'sqlite.db',
    dir: '/var/lib/litefs/dbs/sqlite.db',
    database: exists
      ? {
          exists: true,
          sizeBytes: pages * 4096,
          validHeader: o.header ?? true,
          ...((o.header ?? true) ? { pageSize: 4096, pageCount: pages } : {}),
        }
      : { exists: false, sizeBytes: 0, validHeader: false },
    walBytes: o.walBytes,
    ltx:
      ltx === 'none'
        ? {
            ok: true,
            count: 0,
            minTxid: undefined,
            maxTxid: undefined,
            latest: undefined,
            latestHeader: undefined,
            latestChecksum: undefined,
          }
        : {
            ok: true,
            count: 2,
            minTxid: BigInt(ltx[0]),
            maxTxid: BigInt(ltx[1]),
            latest: `x-${ltx[1]}.ltx`,
            latestHeader:
              (o.ltxHeaderOk ?? true)
                ? {
                    ok: true,
                    value: {
                      pageSize: 4096,
                      commit: pages,
                      minTxid: BigInt(ltx[0]),
                      maxTxid: BigInt(ltx[1]),
                      preApplyChecksum: ltx[0] === 1 ? '0000000000000000' : '8000000000000aaa',
                    },
                  }
                : { ok: false, error: 'no LTX header (expected "LTX1", got "XXXX")' },
            latestChecksum: '8000000000000abc',
          },
  };
}

function dataDir(d: DataDirDb, clusterId: string | null = CLUSTER): DataDirFacts {
  return {
    path: '/var/lib/litefs',
    exists: true,
    error: undefined,
    clusterId: clusterId === null ? { kind: 'absent' } : { kind: 'present', value: clusterId },
    dbs: [d],
  };
}

const down = (dbs: DbObservation[] = [db({ exists: false })]): Observation =>
  obs({ role: 'down', dbs });

function facts(o: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    observation: down(),
    dataDir: dataDir(dataDb({})),
    state: { kind: 'ok', clusterId: CLUSTER, dbs: { 'sqlite.db': 5n } },
    stateOnDataVolume: true,
    disk: roomy,
    peers: undefined,
    ...o,
  };
}

const ids = (f: DoctorFacts, config: Config = testConfig()) => {
  const r = diagnose(f, config);
  return {
    ok: r.ok,
    wrong: r.findings.filter((x) => x.level === 'error' || x.level === 'warn').map((x) => x.id),
    all: r.findings.map((x) => x.id),
    r,
  };
};

t.test('healthy, LiteFS down: position from the LTX files, nothing wrong', async (t) => {
  const r = ids(facts());
  t.same(r.wrong, []);
  t.equal(r.ok, true);
  t.match(r.r.dbs[0], {
    source: 'data-dir',
    txid: '0000000000000005',
    txidFrom: 'ltx',
    checksum: '8000000000000abc',
    hasData: true,
    historyLost: false,
  });
  t.ok(r.all.includes('litefs.down'));
});

t.test('history lost: pages and no LTX file (down), pages at TXID 0 (up)', async (t) => {
  const lost = ids(
    facts({ dataDir: dataDir(dataDb({ ltx: 'none' })), state: { kind: 'missing' } }),
  );
  t.same(lost.wrong, ['db.history-lost']);
  t.equal(lost.ok, false);
  t.match(lost.r.findings[0], { db: 'sqlite.db', wayOut: /litefs export -name sqlite\.db FILE/ });
  t.notMatch(lost.r.findings[0]?.wayOut, /-url/, 'LiteFS on its default port');
  const elsewhere = ids(
    facts({ dataDir: dataDir(dataDb({ ltx: 'none' })), state: { kind: 'missing' } }),
    testConfig({ litefsUrl: 'http://127.0.0.1:20203' }),
  );
  t.match(elsewhere.r.findings[0]?.wayOut, /add `-url http:\/\/127\.0\.0\.1:20203` to both/);
  // An empty db without LTX files is a new db, not a lost history.
  const fresh = ids(
    facts({ dataDir: dataDir(dataDb({ pages: 1, ltx: 'none' })), state: { kind: 'missing' } }),
  );
  t.same(fresh.wrong, []);
  t.ok(fresh.all.includes('db.empty'));

  const live = ids(
    facts({
      observation: obs({ role: 'primary', dbs: [db({ txid: 0n, pages: 30, size: 30 * 4096 })] }),
      dataDir: dataDir(dataDb({ pages: 30, ltx: 'none' })),
      state: { kind: 'missing' },
    }),
  );
  t.same(live.wrong, ['db.history-lost']);
  t.equal(live.r.dbs[0]?.source, 'mount');
  const liveOk = ids(facts({ observation: obs({ role: 'primary', dbs: [db({ txid: 5n })] }) }));
  t.same(liveOk.wrong, []);
});

t.test('LiteFS at TXID N with no LTX file left: lost at its next start', async (t) => {
  const f = facts({
    observation: obs({ role: 'primary', dbs: [db({ txid: 5n })] }),
    dataDir: dataDir(dataDb({ ltx: 'none' })),
  });
  const r = ids(f);
  t.same(r.wrong, ['db.history-lost-on-restart']);
  t.match(r.r.findings[0], {
    wayOut: /while LiteFS still runs: `litefs export -name sqlite\.db FILE`/,
  });
});

t.test('header validity', async (t) => {
  const bad = ids(facts({ dataDir: dataDir(dataDb({ header: false })) }));
  t.same(bad.wrong, ['db.header-invalid']);
  t.match(bad.r.findings[0], { means: /clearing data files/ });
  t.same(ids(facts({ dataDir: dataDir(dataDb({ header: true })) })).wrong, []);
  const standalone = ids(
    facts({ observation: obs({ role: 'primary', dbs: [db({ header: false, txid: 'absent' })] }) }),
    testConfig({ standalone: true }),
  );
  t.same(standalone.wrong, ['db.header-invalid']);
});

t.test('the newest LTX file', async (t) => {
  t.same(ids(facts({ dataDir: dataDir(dataDb({ ltxHeaderOk: false })) })).wrong, [
    'db.ltx-damaged',
  ]);
  t.same(ids(facts({ dataDir: dataDir(dataDb({ ltxHeaderOk: true })) })).wrong, []);
});

t.test('cluster ID: the file, and against /info', async (t) => {
  const up = (file: string | null) =>
    ids(
      facts({
        observation: obs({ role: 'primary', dbs: [db({ txid: 5n })] }),
        dataDir: dataDir(dataDb({}), file),
      }),
    );
  t.same(up(CLUSTER).wrong, []);
  t.same(up('LFSC9999999999999999').wrong, ['cluster-id.mismatch']);
  t.same(up('garbage').wrong, ['cluster-id.invalid']);
  t.same(up(null).wrong, []);
  t.ok(up(null).all.includes('cluster-id.none'));
});

t.test('the data dir itself', async (t) => {
  const missing = { ...dataDir(dataDb({ exists: false, ltx: 'none' }), null), exists: false };
  const fresh = ids(facts({ dataDir: missing, state: { kind: 'missing' } }));
  t.same(fresh.wrong, []);
  t.ok(fresh.all.includes('data-dir.missing'));
  t.ok(fresh.all.includes('db.empty'));
  const unknown = ids(facts({ dataDir: undefined, state: { kind: 'missing' } }));
  t.same(unknown.wrong, ['data-dir.unknown', 'db.unreadable']);
  const denied = ids(
    facts({ dataDir: { ...dataDir(dataDb({})), error: '/var/lib/litefs: EACCES' } }),
  );
  t.same(denied.wrong, ['data-dir.unreadable']);
});

t.test('state file: the mark against the position, its cluster, its volume', async (t) => {
  const mark = (txid: bigint, clusterId = CLUSTER): StateFileRead => ({
    kind: 'ok',
    clusterId,
    dbs: { 'sqlite.db': txid },
  });
  t.same(ids(facts({ state: mark(5n) })).wrong, []);
  t.same(ids(facts({ state: mark(9n) })).wrong, ['db.behind-hwm']);
  // The position only counts against a mark of this cluster (LiteFS up: /info names it).
  const up = (state: StateFileRead) =>
    ids(facts({ observation: obs({ role: 'primary', dbs: [db({ txid: 5n })] }), state }));
  t.same(up(mark(9n)).wrong, ['db.behind-hwm']);
  t.same(up(mark(9n, 'LFSC7777777777777777')).wrong, ['state-file.other-cluster']);
  t.same(ids(facts({ state: { kind: 'corrupt', error: 'bad' } })).wrong, ['state-file.corrupt']);
  t.same(ids(facts({ state: { kind: 'unreadable', error: 'EACCES' } })).wrong, [
    'state-file.unreadable',
  ]);
  t.same(ids(facts({ state: { kind: 'missing' } })).wrong, []);
  t.same(ids(facts({ stateOnDataVolume: false })).wrong, ['state-file.other-volume']);
  t.same(ids(facts({ stateOnDataVolume: undefined })).wrong, []);
});

t.test('free space against --min-free-disk', async (t) => {
  const disk = (freePct: number): DiskSpace => ({
    ok: true,
    path: '/var/lib/litefs',
    freeBytes: (freePct / 100) * 10 * GiB,
    totalBytes: 10 * GiB,
  });
  t.same(ids(facts({ disk: disk(2) })).wrong, ['disk.low']);
  // The way out suggests compaction (a dry run first), on the gated db.
  const low = diagnose(facts({ disk: disk(2) }), testConfig()).findings.find(
    (x) => x.id === 'disk.low',
  );
  t.match(low?.wayOut, /litefs-supervisor compact --dry-run --db sqlite\.db/);
  t.same(ids(facts({ disk: disk(10) })).wrong, []);
  t.same(ids(facts({ disk: disk(9.9) }), testConfig({ minFreeDisk: 5 })).wrong, []);
  t.same(ids(facts({ disk: { ok: false, path: '/x', error: 'EACCES' } })).wrong, ['disk.unknown']);
});

t.test('LiteFS up: role and lag', async (t) => {
  const replica = (lag: number | 'unsynced') =>
    ids(facts({ observation: obs({ role: 'replica', lag, dbs: [db({ txid: 5n })] }) }));
  t.same(replica(20).wrong, []);
  t.same(replica(60_000).wrong, ['litefs.role']);
  t.same(replica('unsynced').wrong, ['litefs.role']);
  t.match(replica(20).r.litefs, { running: true, role: 'replica', lagMs: 20, synced: true });
  // A node that names itself as primary while not primary: a transient, not a replica.
  const self = ids(
    facts({ observation: obs({ role: 'replica', primary: 'me', dbs: [db({ txid: 5n })] }) }),
    testConfig({ hostname: 'me' }),
  );
  t.equal(self.r.litefs.role, 'unknown');
  t.same(self.wrong, []);
  t.same(
    ids(
      facts({
        observation: {
          ...obs({ role: 'down' }),
          primaryFile: {
            kind: 'error',
            error: 'mount dir /litefs: ENOTCONN: socket is not connected',
          },
        },
      }),
    ).wrong,
    ['mount.dead'],
  );
});

t.test('LiteFS up: peers', async (t) => {
  const config = testConfig({ peers: 'app.internal' });
  const withPeers = (
    peers: PeerReport,
    own: DbObservation,
    role: 'primary' | 'replica' = 'primary',
  ) =>
    ids(
      facts({ observation: obs({ role, dbs: [own] }), peers, state: { kind: 'missing' } }),
      config,
    );
  const empty = db({ txid: 0n, size: 0 });
  const ahead = withPeers(report([peer({ txid: 0n, pages: 40 })]), empty);
  t.same(ahead.wrong, ['db.behind-peer']);
  t.match(ahead.r.findings[0], { summary: /has data \(TXID 0000000000000000, 40 page\(s\)/ });
  t.same(withPeers(report([peer({ txid: 9n })]), db({ txid: 5n })).wrong, ['db.behind-peer']);
  t.same(withPeers(report([peer({ txid: 5n })]), db({ txid: 5n })).wrong, []);
  t.same(withPeers(report([peer({ txid: 0n, pages: 1 })]), empty).wrong, []);
  // On a replica, a peer ahead is catching up, not a fault.
  t.same(withPeers(report([peer({ txid: 9n })]), db({ txid: 5n }), 'replica').wrong, []);
  // Another cluster's data says nothing about ours.
  t.same(
    withPeers(report([peer({ txid: 9n, clusterId: 'LFSC7777777777777777' })]), db({ txid: 5n }))
      .wrong,
    [],
  );
  t.same(withPeers(report([silent()]), db({ txid: 5n })).wrong, ['peer.unanswered']);
  t.same(
    withPeers(report([], 'DNS AAAA lookup of app.internal: no answer'), db({ txid: 5n })).wrong,
    ['peers.discovery'],
  );
  // LiteFS down and no answers gathered: that is said.
  t.ok(ids(facts(), config).all.includes('peers.not-asked'));
  // LiteFS down, peers asked: a silent one may be this node itself, so not a fault.
  const downPeers = ids(facts({ peers: report([silent(), peer({ txid: 5n })]) }), config);
  t.same(downPeers.wrong, [], 'LiteFS down: a silent peer is info');
  t.match(
    downPeers.r.findings.filter((x) => x.id.startsWith('peer')).map((x) => [x.id, x.level]),
    [
      ['peer.unanswered', 'info'],
      ['peer.evidence', 'info'],
    ],
  );
});

t.test('a database file shorter than its LTX history (LiteFS refuses to open it)', async (t) => {
  /** The db of docs/nemesis.md's truncate-db: 9 pages at TXID 0x62, the file cut (or removed). */
  const cut = (
    o: {
      bytes?: number;
      exists?: boolean;
      min?: number;
      walBytes?: number;
      journalBytes?: number;
      /** LiteFS's checksum of the file: over all its pages, and over the first `commit`. */
      sum?: { all: string; commit: string };
    } = {},
  ) => {
    const d = dataDb({ pages: 9, ltx: [o.min ?? 0x60, 0x62], walBytes: o.walBytes });
    if (o.journalBytes !== undefined) d.journalBytes = o.journalBytes;
    if (o.sum) d.checksum = { pages: 9, ...o.sum };
    const exists = o.exists ?? true;
    const bytes = o.bytes ?? 0;
    d.database = !exists
      ? { exists: false, sizeBytes: 0, validHeader: false }
      : bytes === 0
        ? { exists: true, sizeBytes: 0, validHeader: false }
        : { exists: true, sizeBytes: bytes, validHeader: true, pageSize: 4096, pageCount: 9 };
    return dataDir(d);
  };
  const config = testConfig({ peers: 'app.internal' });

  const zero = ids(facts({ dataDir: cut() }), config);
  t.same(zero.wrong, ['db.truncated'], 'zero bytes, LTX files kept: named (refuses)');
  t.equal(zero.ok, false, 'doctor exits 1');
  const finding = zero.r.findings[0];
  t.match(finding, {
    id: 'db.truncated',
    level: 'error',
    db: 'sqlite.db',
    summary:
      /\/var\/lib\/litefs\/dbs\/sqlite\.db\/database is 0 bytes but its newest LTX file x-98\.ltx \(TXID 0000000000000060-0000000000000062\) says 9 pages of 4096 bytes/,
    means: /refuses to start.*does not match LTX post-apply checksum/,
  });
  t.match(
    finding?.wayOut,
    /first make sure another node holds sqlite\.db.*TXID 0000000000000062 or above.*`mv \/var\/lib\/litefs\/dbs\/sqlite\.db \/var\/lib\/litefs\/sqlite\.db\.truncated`.*litefs import/,
    'no peer evidence: check first, then move aside; or restore',
  );

  const held = ids(
    facts({ dataDir: cut(), peers: report([silent(), peer({ txid: 0x62n, nodeId: 'AB' })]) }),
    config,
  );
  t.same(held.wrong, ['db.truncated']);
  t.match(
    held.r.findings[0]?.wayOut,
    /^peer http:\/\/\[fdaa::2\]:20202 \(node AB\) holds sqlite\.db at TXID 0000000000000062: with LiteFS stopped on this node, .*`mv /,
    'a peer holds it: the move is named as the way out',
  );
  const behind = ids(facts({ dataDir: cut(), peers: report([peer({ txid: 0x50n })]) }), config);
  t.match(
    behind.r.findings[0]?.wayOut,
    /at TXID 0000000000000050 \(below this node's 0000000000000062/,
  );
  const emptyPeer = ids(facts({ dataDir: cut(), peers: report([peer({ txid: 0n })]) }), config);
  t.match(
    emptyPeer.r.findings[0]?.wayOut,
    /^first make sure another node holds/,
    'an empty peer is not a holder',
  );
  const otherCluster = ids(
    facts({
      dataDir: cut(),
      peers: report([peer({ txid: 0x62n, clusterId: 'LFSC7777777777777777' })]),
    }),
    config,
  );
  t.match(otherCluster.r.findings[0]?.wayOut, /^first make sure/, "another cluster's node is not");

  t.same(
    ids(facts({ dataDir: cut({ exists: false }) }), config).wrong,
    ['db.truncated'],
    'the file removed, LTX files kept: named (refuses)',
  );
  t.same(
    ids(facts({ dataDir: cut({ bytes: 4 * 4096 }) }), config).wrong,
    ['db.truncated'],
    'cut short of 9 pages: named',
  );
  // Allowed: LiteFS starts on these.
  t.same(
    ids(facts({ dataDir: cut({ min: 1 }) }), config).wrong,
    [],
    'the newest LTX file is a snapshot (every page): LiteFS rebuilds the file',
  );
  t.same(
    ids(facts({ dataDir: cut({ walBytes: 4096 * 3 }) }), config).wrong,
    [],
    'WAL frames are copied back first: not certain, not named',
  );
  t.same(
    ids(facts({ dataDir: cut({ journalBytes: 512 }) }), config).wrong,
    [],
    'a rollback journal is rolled back first: not certain, not named',
  );
  // A whole file: judged by LiteFS's own checksum, as LiteFS judges it.
  const whole = 9 * 4096;
  const failedStart = ids(
    facts({
      dataDir: cut({ bytes: whole, sum: { all: '8000000000000bad', commit: '8000000000000bad' } }),
    }),
    config,
  );
  t.same(failedStart.wrong, ['db.truncated'], 'after a failed start: full size, wrong checksum');
  t.match(
    failedStart.r.findings[0]?.summary,
    /has LiteFS checksum 8000000000000bad but its newest LTX file .* leaves it at checksum 8000000000000abc/,
  );
  t.same(
    ids(
      facts({
        dataDir: cut({
          bytes: whole,
          sum: { all: '8000000000000abc', commit: '8000000000000abc' },
        }),
      }),
      config,
    ).wrong,
    [],
    'the post-apply checksum: healthy',
  );
  t.same(
    ids(
      facts({
        dataDir: cut({
          bytes: whole,
          sum: { all: '8000000000000aaa', commit: '8000000000000aaa' },
        }),
      }),
      config,
    ).wrong,
    [],
    'the pre-apply checksum: a crash before the database write, LiteFS finishes it',
  );
  t.same(
    ids(
      facts({
        dataDir: cut({ bytes: 4096, sum: { all: '8000000000000aaa', commit: '8000000000000aaa' } }),
      }),
      config,
    ).wrong,
    [],
    'short but at the pre-apply checksum (a transaction that grew the db): LiteFS finishes it',
  );
  t.same(
    ids(facts({ dataDir: cut({ bytes: whole }) }), config).wrong,
    [],
    'full size, checksum not read: nothing said',
  );
  t.same(
    ids(
      facts({ dataDir: cut(), observation: obs({ role: 'primary', dbs: [db({ txid: 0x62n })] }) }),
      config,
    ).wrong.filter((x) => x === 'db.truncated'),
    [],
    'LiteFS runs: it opened the file, nothing to say here',
  );
});
