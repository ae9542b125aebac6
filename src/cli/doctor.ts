// `litefs-supervisor doctor`: a read-only diagnosis of this node (docs/design.md section 6).
// Gathers the facts the way the supervisor does (mount and /info, LiteFS's data dir, the state
// file, free space, peers) and hands them to the pure diagnose() in src/core/doctor.ts. It writes
// nothing (S12): no state-file repair (a corrupt file is only reported, not moved aside), no POST
// to LiteFS, files opened read-only.

import { dirname, resolve } from 'node:path';
import type { Config } from '../config/types.js';
import { recordStore } from '../consul/record.js';
import { diagnose } from '../core/doctor.js';
import type { DoctorFacts, StateFileRead } from '../core/doctor-facts.js';
import type { DoctorReport, Finding } from '../core/doctor-report.js';
import type { DiskSpace } from '../core/observation.js';
import { LitefsClient } from '../litefs/client.js';
import { readDataDir } from '../litefs/data-dir.js';
import { observe, observeStandalone } from '../litefs/observe.js';
import { askPeers, parsePeersOption } from '../litefs/peers.js';
import { parseStateFile, readStateFileText, sameFilesystem } from '../state/state-file.js';
import { diskSpace } from '../system/disk.js';
import { peerHealthPort } from './adapters.js';

/** The I/O doctor uses; tests replace the volume readers (a nearly full or another volume). */
export interface DoctorDeps {
  diskSpace: (path: string) => Promise<DiskSpace>;
  sameFilesystem: (a: string, b: string) => Promise<boolean | undefined>;
  now: () => number;
}

export const nodeDoctorDeps: DoctorDeps = { diskSpace, sameFilesystem, now: () => Date.now() };

/** Bounds each LiteFS and peer answer, as the supervisor does (src/cli/adapters.ts). */
const TIMEOUT_MS = 2000;

export async function gatherDoctorFacts(config: Config, deps: DoctorDeps): Promise<DoctorFacts> {
  const state = readStateFileOnly(config.stateFile);
  if (config.standalone) {
    const [observation, disk] = await Promise.all([
      observeStandalone({ mountDir: config.mountDir, dbs: config.db, now: deps.now }),
      deps.diskSpace(dirname(resolve(config.mountDir, config.db[0] ?? '.'))),
    ]);
    return {
      observation,
      dataDir: undefined,
      state: await state,
      stateOnDataVolume: undefined,
      disk,
      peers: undefined,
    };
  }
  const client = new LitefsClient({
    url: config.litefsUrl,
    headersTimeoutMs: TIMEOUT_MS,
    bodyTimeoutMs: TIMEOUT_MS,
    connections: 1,
  });
  try {
    const observation = await observe({
      client,
      mountDir: config.mountDir,
      dbs: config.db,
      now: deps.now,
    });
    const info = observation.info.ok ? observation.info.value : undefined;
    // /info `path` is the data dir LiteFS really uses; prefer it to a guess from the options.
    const dataDirPath = info?.path ? info.path : config.dataDir;
    const diskPath = dataDirPath ?? dirname(config.stateFile);
    // Asked with LiteFS down too: which peer holds the data decides a way out (a truncated db,
    // doctor-truncated.ts). This node cannot recognise itself then; its own address, if listed,
    // is one that does not answer.
    const peersSpec = config.peers !== undefined ? parsePeersOption(config.peers) : undefined;
    const store =
      config.clusterRecord !== undefined && config.consul !== undefined
        ? recordStore(config.consul, config.clusterRecord)
        : undefined;
    const record = store?.read().finally(() => store.close());
    const [dataDir, disk, stateOnDataVolume, peers] = await Promise.all([
      dataDirPath === undefined ? undefined : readDataDir(dataDirPath, config.db),
      deps.diskSpace(diskPath),
      dataDirPath === undefined ? undefined : deps.sameFilesystem(config.stateFile, dataDirPath),
      peersSpec === undefined
        ? undefined
        : askPeers({
            spec: peersSpec,
            port: Number(new URL(config.litefsUrl).port || 80),
            selfNodeId: info?.nodeId,
            dbs: config.db,
            healthPort: peerHealthPort(config),
            timeoutMs: TIMEOUT_MS,
            now: deps.now,
          }),
    ]);
    return {
      observation,
      dataDir,
      state: await state,
      stateOnDataVolume,
      disk,
      peers,
      record: await record,
    };
  } finally {
    await client.close();
  }
}

/** The state file, parsed strictly like the supervisor does, but never moved aside. */
async function readStateFileOnly(path: string): Promise<StateFileRead> {
  const read = await readStateFileText(path);
  if (read.kind !== 'text') return read;
  const parsed = parseStateFile(read.text);
  if (!parsed.ok) return { kind: 'corrupt', error: parsed.error };
  const dbs: Record<string, bigint> = {};
  for (const [name, entry] of Object.entries(parsed.value.dbs)) dbs[name] = entry.txid;
  return { kind: 'ok', clusterId: parsed.value.clusterId, dbs };
}

/** Runs the diagnosis and prints it; exit 0 when nothing is wrong, 1 otherwise. */
export async function runDoctor(
  config: Config,
  options: { json: boolean; version: string; warnings: string[] },
  deps: DoctorDeps = nodeDoctorDeps,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const facts = await gatherDoctorFacts(config, deps);
  const report = diagnose(facts, config);
  write(
    options.json
      ? `${JSON.stringify({ version: options.version, ...report, configWarnings: options.warnings }, null, 2)}\n`
      : formatReport(report, config, options.version, options.warnings),
  );
  return report.ok ? 0 : 1;
}

const LABEL: Record<Finding['level'], string> = {
  error: 'ERROR',
  warn: 'WARN ',
  info: 'info ',
  ok: 'ok   ',
};

/** The report for a person: what was read, each finding with its meaning and way out. */
export function formatReport(
  r: DoctorReport,
  config: Config,
  version: string,
  warnings: string[],
): string {
  const lines = [`litefs-supervisor ${version} doctor (read-only; nothing was written)`];
  if (config.standalone) {
    lines.push(`standalone: dbs under ${r.mountDir}`);
  } else {
    const l = r.litefs;
    lines.push(
      l.running
        ? `LiteFS:     ${l.url} answers: ${l.role}${l.role === 'replica' && l.lagMs !== null ? `, lag ${l.lagMs}ms` : ''}, node ${l.nodeId ?? '?'}, cluster ${l.clusterId ?? '(none)'}`
        : `LiteFS:     ${l.url} does not answer (${l.error})`,
      `mount dir:  ${r.mountDir}`,
      `data dir:   ${r.dataDir ?? '(unknown: pass --data-dir or --litefs-config)'}`,
      `state file: ${r.stateFile}`,
    );
  }
  if (r.clusterRecord) lines.push(`record:     ${r.clusterRecord.key}: ${r.clusterRecord.read}`);
  lines.push('');
  for (const db of r.dbs) {
    const parts = [
      db.pageCount === null ? 'pages unknown' : `${db.pageCount} pages of ${db.pageSize} bytes`,
    ];
    if (!config.standalone) {
      parts.push(`TXID ${db.txid ?? '-'}${db.txidFrom ? ` (${db.txidFrom})` : ''}`);
      parts.push(`LTX files ${db.ltxFiles ?? '-'}`);
      parts.push(`high-water mark ${db.hwm ?? '-'}`);
    }
    parts.push(`hasData ${db.hasData}`);
    if (!config.standalone) parts.push(`historyLost ${db.historyLost}`);
    const from = { mount: 'the mount', 'data-dir': 'the data dir', none: 'nowhere' }[db.source];
    lines.push(`db ${db.name} (read from ${from}): ${parts.join(', ')}`);
  }
  if (warnings.length > 0) {
    lines.push('', 'Configuration warnings:', ...warnings.map((w) => `  - ${w}`));
  }
  lines.push('', 'Findings:');
  for (const f of r.findings) {
    lines.push(`  ${LABEL[f.level]} ${f.id}${f.db ? ` [${f.db}]` : ''}: ${f.summary}`);
    if (f.level !== 'ok') lines.push(`        means: ${f.means}`);
    if (f.wayOut) lines.push(`        way out: ${f.wayOut}`);
  }
  const wrong = r.findings.filter((f) => f.level === 'error' || f.level === 'warn').length;
  lines.push(
    '',
    wrong === 0
      ? 'Nothing wrong found (exit 0).'
      : `${wrong} thing${wrong === 1 ? '' : 's'} wrong (exit 1).`,
  );
  return `${lines.join('\n')}\n`;
}
