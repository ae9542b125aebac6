// `litefs-supervisor record [--json]` shows the cluster record in Consul (docs/design.md section 3,
// "cluster record"); `litefs-supervisor record reset --yes` deletes it on purpose, with
// check-and-set on the index it just read, and prints what it deleted so it can be put back.
// Reading needs the same litefs.yml the supervisor uses (the Consul URL and token come only from
// its lease.consul.url); nothing here prints that URL. Exit 0 done, 1 Consul failed or the record
// changed meanwhile, 2 nothing to show (the record is off) or a reset without --yes.

import type { Config } from '../config/types.js';
import { type RecordStore, recordStore } from '../consul/record.js';
import { describeRecord, serializeClusterRecord } from '../core/cluster-record.js';

export async function runRecord(
  config: Config,
  opts: { json: boolean; reset: { yes: boolean } | undefined },
  write: (text: string) => void = (text) => process.stdout.write(text),
  writeErr: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  if (config.clusterRecord === undefined || config.consul === undefined) {
    writeErr(
      'litefs-supervisor record: the cluster record is off here: it needs litefs.yml with lease.type consul and lease.consul.url (pass --litefs-config FILE), and no --cluster-record off\n',
    );
    return 2;
  }
  const store = recordStore(config.consul, config.clusterRecord);
  try {
    return await show(store, config.consul.origin, opts, write, writeErr);
  } finally {
    await store.close();
  }
}

async function show(
  store: RecordStore,
  origin: string,
  opts: { json: boolean; reset: { yes: boolean } | undefined },
  write: (text: string) => void,
  writeErr: (text: string) => void,
): Promise<number> {
  const where = `${store.key} in Consul at ${origin}`;
  if (opts.reset && !opts.reset.yes) {
    writeErr(
      `litefs-supervisor record reset: refusing without --yes. Resetting ${where} tells every supervisor that the cluster never held data: an empty primary may then bootstrap a new cluster, and LiteFS replicates it over any machine that still holds the old data when it starts. Do it only when that data is gone for good (or restored by litefs import, which needs no reset).\n`,
    );
    return 2;
  }
  const read = await store.read();
  if (opts.json && !opts.reset) {
    const body =
      read.kind === 'present'
        ? { key: store.key, state: read.kind, index: read.index, record: read.record }
        : {
            key: store.key,
            state: read.kind,
            ...(read.kind === 'unreadable' ? { error: read.error } : {}),
          };
    write(`${JSON.stringify(body, null, 2)}\n`);
    return read.kind === 'unreadable' ? 1 : 0;
  }
  if (!opts.reset) {
    write(`cluster record ${where}: ${describeRecord(read)}\n`);
    if (read.kind === 'present') {
      write(
        `  created by LiteFS cluster ${read.record.clusterId || '(none)'}, version ${read.record.version}\n`,
      );
    }
    return read.kind === 'unreadable' ? 1 : 0;
  }
  if (read.kind === 'unreadable') {
    writeErr(`litefs-supervisor record reset: cannot read ${where}: ${read.error}\n`);
    return 1;
  }
  if (read.kind === 'absent') {
    write(`cluster record ${where}: absent; nothing to reset\n`);
    return 0;
  }
  const done = await store.reset(read.index);
  if (!done.ok) {
    writeErr(`litefs-supervisor record reset: ${done.error}\n`);
    return 1;
  }
  if (!done.deleted) {
    writeErr(
      `litefs-supervisor record reset: ${where} changed while resetting (a primary wrote it); nothing deleted. Look again with litefs-supervisor record\n`,
    );
    return 1;
  }
  write(
    `deleted the cluster record ${where}. It was (to put it back: consul kv put ${store.key} '<this>'):\n${serializeClusterRecord(read.record)}\n`,
  );
  return 0;
}
