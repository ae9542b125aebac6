// Every log event the supervisor writes (its `event=` name), with the level(s) it is logged at and
// what it means: the one source of docs/logs.md, as the option table is of docs/configuration.md.
// `npm run docs:logs` writes the file; test/ship/logs-doc.test.ts fails when the file is stale,
// when src/ logs an event that is not here, or when a line here names one src/ never logs.
//
// Adding an event is one line in LOG_EVENTS, under its topic:
//   ['halt.held', 'handover', 'info', 'what it means to an operator reading `fly logs`'],
// Levels are one level or several joined by '/', as the code logs them ('info/warn').

import type { LogLevel } from '../core/state.js';

/** The topics of docs/logs.md, in the order they appear there. */
export const LOG_TOPICS = {
  start: 'Start and configuration',
  beforemount: 'Before the mount (`before-mount`)',
  litefs: 'LiteFS, the role and syncing',
  hwm: 'The high-water mark (`--state-file`)',
  checks: 'Primary checks, peers and the cluster record (S2, S3)',
  safety: 'Lost history and rewinds (S11, S13)',
  fence: 'Fence and handoff (S4)',
  promote: 'Promotion (S5, `--promote`)',
  handover: 'Handover on stop',
  handback: 'Hand-back while the app cannot serve (S14)',
  halt: 'Writes halted across a lease move',
  backup: 'Backups and the disk guard (S8, S9)',
  compact: 'Compaction and the control channel (`compact`)',
  migrate: 'Migrations (S1, S6)',
  commands: '`--setup` and `--before` commands',
  app: 'The app',
  stop: 'Signals and exit',
} as const;

export type LogTopic = keyof typeof LOG_TOPICS;

/** One level, or several joined by '/'. */
export type LogLevels =
  | LogLevel
  | `${LogLevel}/${LogLevel}`
  | `${LogLevel}/${LogLevel}/${LogLevel}`;

export type LogEventRow = readonly [
  name: string,
  topic: LogTopic,
  levels: LogLevels,
  meaning: string,
];

// biome-ignore format: one event per line, so that adding one is a one-line change
export const LOG_EVENTS: readonly LogEventRow[] = [
  ['supervisor.start', 'start', 'info', 'started: version, mode (`litefs`/`standalone`), mount dir, databases'],
  ['config.warning', 'start', 'warn', 'a setting that defeats the supervisor (`lease.promote: true`, several exec commands, an exec command without the supervisor, `lease.reconnect-delay` at 1s or more on a Consul candidate) or no litefs.yml found'],
  ['health.listen', 'start', 'info', 'where the health API listens'],
  ['health.fail', 'start', 'error', 'cannot listen on `--health-addr`; exits 2'],

  ['before-mount.skip', 'beforemount', 'info/warn', 'nothing to wait for: no litefs.yml, not a Consul lease, `lease.candidate: false`, or no usable Consul URL; LiteFS starts at once'],
  ['before-mount.held', 'beforemount', 'info', 'a session holds the lease (`holder`): a primary runs, this node joins it as a replica; LiteFS starts at once'],
  ['before-mount.new', 'beforemount', 'info', 'neither the lease key nor its cluster ID exists: a new cluster; LiteFS starts at once'],
  ['before-mount.consul-fail', 'beforemount', 'warn', 'the lease could not be read from Consul (`error`); LiteFS starts at once, as it would meet the same Consul'],
  ['before-mount.wait', 'beforemount', 'info', 'the lease is free (`reason` released by a clean stop, or expired): leaving it to the running nodes for up to `boundMs`'],
  ['before-mount.taken', 'beforemount', 'info', 'a running node (`holder`) took the free lease after `waitedMs`: this node joins it as a replica'],
  ['before-mount.free', 'beforemount', 'info', 'no running node took the free lease within the bound: LiteFS starts and may take it'],
  ['before-mount.signal', 'beforemount', 'info', 'stopped by SIGINT/SIGTERM while waiting: exits 130/143 so LiteFS does not start'],

  ['litefs.connected', 'litefs', 'info', "LiteFS's API answers"],
  ['litefs.unreachable', 'litefs', 'info/warn', "LiteFS's API does not answer (yet)"],
  ['litefs.wait', 'litefs', 'info', 'waiting for LiteFS (state `waiting-for-litefs`)'],
  ['litefs.events', 'litefs', 'debug', "LiteFS's `/events` stream connected, ended or failed (it reconnects; polling continues)"],
  ['role.change', 'litefs', 'info', 'the role LiteFS shows changed (`from`, `to`, `primary`)'],
  ['primary.wait', 'litefs', 'info', 'no primary known yet (election, reconnect)'],
  ['sync.wait', 'litefs', 'info', 'replica still catching up (`lagMs`), or its databases not replicated yet'],
  ['sync.done', 'litefs', 'info', 'replica synced (lag within `--max-lag`)'],
  ['sync.timeout', 'litefs', 'error', 'LiteFS, a primary or sync not reached within `--sync-timeout`; exits 5'],

  ['hwm.loaded', 'hwm', 'info', 'the high-water mark (largest TXID seen per database) read from `--state-file`'],
  ['hwm.none', 'hwm', 'info', 'no state file yet: a new volume; peers still apply'],
  ['hwm.corrupt', 'hwm', 'error', 'the state file is damaged: kept aside as `.corrupt`, treated as no mark'],
  ['hwm.unreadable', 'hwm', 'error', 'the state file cannot be read; treated as no mark'],
  ['hwm.write-fail', 'hwm', 'warn', 'the state file could not be written'],
  ['hwm.cluster-changed', 'hwm', 'warn', 'the state file belongs to another LiteFS cluster ID; a fresh mark starts'],
  ['hwm.rewind', 'hwm', 'error', 'a synced replica is below its own mark: the cluster lost transactions somewhere'],
  ['hwm.retired', 'hwm', 'warn', "a primary's db holds data at TXID 0 (S13): the mark ordered a history that is gone, so it is retired for this node's checks (the repair's new history starts at TXID 1); peers still see it as what the cluster held (S2) until the db has a history again"],
  ['hwm.other-volume', 'hwm', 'warn', "the state file is not on the data dir's volume, so it cannot tell a wiped volume"],

  ['primary.check', 'checks', 'info', 'this node holds the lease: checking its databases before anything writes (S2/S3)'],
  ['peers.ask', 'checks', 'debug', 'asking the peers (`--peers`) for their positions'],
  ['peers.report', 'checks', 'info/warn', 'what the peers answered (who has which TXID, who did not answer), and the cluster record read with them (`record=`)'],
  ['record.write', 'checks', 'info/debug', 'a primary recorded in Consul that the cluster holds data in these dbs (the cluster record only gains); debug when it already listed them'],
  ['record.write-fail', 'checks', 'warn', 'the cluster record could not be written (Consul failed, or its lease names another node); tried again in 10 s'],
  ['record.absent', 'checks', 'warn', 'no cluster record although data exists: expected on the first run with a supervisor that keeps it; otherwise `--cluster-record` or the lease key it defaults from changed'],
  ['record.other-cluster', 'checks', 'warn', 'the cluster record was created by another LiteFS cluster ID (a lease key changed, or a new cluster took the app\'s record); it still counts'],
  ['primary.wait-db', 'checks', 'info/warn', 'primary waiting for a readable database or for peers (`--peer-wait`)'],
  ['primary.cleared', 'checks', 'info', 'the primary may write: not behind its mark or any peer, or a genuinely new cluster (`bootstrap=true`)'],

  ['db.history-lost', 'safety', 'error', 'a gated db holds pages at TXID 0: LiteFS has no LTX history for it, so its next write would be a TXID 1 snapshot over every replica, or fail; a primary is fenced (S13). Repair: `litefs export` the db on the node that holds it, check the file, `litefs import` it on the primary (a fresh history), or restore a backup; once imported, the fence ends by itself and the node checks again'],
  ['rewind.alarm', 'safety', 'error', 'a new primary is behind this replica: LiteFS will overwrite its database with older data; counted in `/metrics`, a copy saved if possible (S11)'],

  ['fence.enter', 'fence', 'error', 'primary with an empty or behind database: no migration, app stopped, lease handed away (S4)'],
  ['app.stop', 'fence', 'warn', 'stopping the app because this node is fenced'],
  ['handoff.request', 'fence', 'info', 'asking LiteFS to hand the lease to the most advanced candidate peer'],
  ['handoff.accepted', 'fence', 'info', 'LiteFS accepted the handoff; this node carries on as a replica'],
  ['handoff.fail', 'fence', 'warn', 'the handoff failed; retried every 3 s'],
  ['handoff.none', 'fence', 'warn', 'no peer to hand the lease to; waiting for `--fence-timeout`'],
  ['fence.leave', 'fence', 'info', 'no longer primary: carrying on as a replica; or the checks pass again on fresh evidence (the peer ahead is not any more, a repair by `litefs import`, the record reset): checking again from the start'],
  ['fence.exit', 'fence', 'error', 'still fenced after `--fence-timeout`; exits 4 so LiteFS releases the lease'],

  ['promote.request', 'promote', 'info', '`--promote`: synced and not behind, asking LiteFS for the lease (S5)'],
  ['promote.sent', 'promote', 'info', 'LiteFS accepted the request; waiting for the lease'],
  ['promote.fail', 'promote', 'warn', 'the request failed; asked again after `--promote-timeout`'],
  ['promote.refused', 'promote', 'warn', 'LiteFS says this node is not a candidate; carrying on as a replica'],
  ['promote.skip', 'promote', 'info/warn', 'not asking for the lease, and why (behind its mark, not synced; with `--promote-when new-version`: the primary runs this same version)'],
  ['promote.version-check', 'promote', 'info', '`--promote-when new-version`: asking the primary which app version it runs'],
  ['promote.new-version', 'promote', 'info', 'the primary runs another version (or reports none): this node asks for the lease, once'],
  ['promote.give-up', 'promote', 'warn', 'still a replica after 3 requests; the app starts as a replica'],

  ['handover.begin', 'handover', 'info', 'a stop signal reached a primary whose app runs: handing the lease over first (`--handoff-timeout`)'],
  ['handover.request', 'handover', 'info', 'asking LiteFS to hand the lease to the most advanced synced candidate that follows this node'],
  ['handover.accepted', 'handover', 'info', 'LiteFS took the request; the app runs until `/info` shows the move'],
  ['handover.done', 'handover', 'info', 'the lease left this node (`durationMs` since the signal); the app is stopped now'],
  ['handover.none', 'handover', 'info', "no synced candidate with this node's data answered; stopping as before"],
  ['handover.fail', 'handover', 'warn', 'the handoff failed; stopping as before'],
  ['handover.timeout', 'handover', 'warn', 'the lease did not move within `--handoff-timeout`; stopping as before'],
  ['handover.abandon', 'handover', 'warn', 'a second stop signal: the app is stopped at once'],
  ['halt.held', 'halt', 'info/debug', "the old primary's writes were halted across a lease move (`dbs`, `waitedMs` for the lock, `heldMs`): no write committed during the move can be lost; debug when the move itself failed. With `check=S7`: this node's own writes were halted while it checked its databases as a new primary with its app running, and `released` says why the lock went (the checks passed; fenced and the app exited; the lease lost; stopping; the 2 s limit)"],
  ['halt.take', 'halt', 'debug', "S7: this node's own write lock was granted for the checks of a new primary whose app runs (`dbs`, `waitedMs`); `halt.held` follows when it is released"],
  ['halt.skipped', 'halt', 'warn', "a lease move went ahead without halting the primary's writes, and why (the lock not granted in 1 s, or 300 ms when that app serves none; LiteFS refused it; no peer report named the primary); with `check=S7`, a new primary's checks went on without halting its own writes"],
  ['halt.release-fail', 'halt', 'warn', 'releasing the halt failed (`check=S7`: the own lock of a new primary\'s checks); LiteFS drops it after 30 s, and writes on that node wait until then'],
  ['control.listen', 'compact', 'info', 'the control socket (`--control-socket`, mode 0600) listens: `litefs-supervisor compact` asks here'],
  ['control.fail', 'compact', 'warn', 'no control socket: its path is another kind of file, another supervisor answers there, or it cannot be created; `compact` cannot reach this supervisor'],
  ['compact.begin', 'compact', 'info', '`litefs-supervisor compact` asked (`db`, `dryRun`, `txid`); measuring'],
  ['compact.refuse', 'compact', 'warn', 'refused (`exitCode` 10 not the primary, 11 not ready / fenced / history lost / busy, 12 no room, with the numbers and `hint`)'],
  ['compact.measured', 'compact', 'info', 'measured and nothing changed: `--dry-run`, or little to gain (free pages below `--compact-threshold`)'],
  ['compact.measure', 'compact', 'info', 'what measuring found (`pageCount`, `freePages`, `expectedBytes`, `room` per volume and peer); going on'],
  ['compact.backup', 'compact', 'info', 'the backup (`--backup-dir`) written before anything stops'],
  ['compact.stop-app', 'compact', 'info', 'stopping the app for the compaction (state `compacting`)'],
  ['compact.vacuum', 'compact', 'info', 'the app stopped; writing the compacted copy (`VACUUM INTO`, outside `data.dir` and the mount) and checking it'],
  ['compact.import', 'compact', 'info', 'the copy checked (integrity, row counts, TXID unchanged); importing it through LiteFS (`POST /import`)'],
  ['compact.done', 'compact', 'info', 'compacted: `beforeBytes`, `afterBytes`, `pagesFreed`, `appStoppedMs`, `txidBefore`, `txidAfter`; the app starts again; LiteFS\'s LTX retention removes the old LTX files later'],
  ['compact.abort', 'compact', 'warn', 'aborted, nothing imported, the copy removed, the app started again: another writer moved the TXID, the lease was lost, `--compact-timeout`, the command interrupted, a stop signal, a failed backup or check'],
  ['compact.unverified', 'compact', 'error', 'LiteFS imported the copy but the check through the mount afterwards found a difference (`problems`): compare with the backup, run `doctor`'],
  ['compact.leftover', 'compact', 'warn', 'at start: removed a compaction copy a crash left beside the data dir (it was never imported)'],

  ['handback.begin', 'handback', 'info', 'this primary cannot serve writes (`why`: its app boots, a failed migration waits for its next try, its app waits to restart, a migration\'s tries are spent); asking the peers for a synced candidate whose app is ready'],
  ['handback.request', 'handback', 'info', 'asking LiteFS to hand the lease to that candidate (`nodeId`)'],
  ['handback.none', 'handback', 'debug/warn', 'no synced candidate whose app is ready answered; keeping the lease, asking again every 3 s'],
  ['handback.fail', 'handback', 'warn', 'LiteFS refused the handoff; trying again in 3 s'],
  ['handback.done', 'handback', 'info', "the lease moved (`durationMs`); this node's app boots (or waits) as a replica"],
  ['handback.cancel', 'handback', 'info', 'the app became ready before the lease moved: keeping it'],
  ['handback.wait', 'handback', 'info', "the lease is with a serving node until the failed migration's next try (logged once per wait)"],
  ['handback.reclaim', 'handback', 'info', "taking the lease back: the app is ready after a new version's migration, or the migration's next try is due"],
  ['handback.reclaimed', 'handback', 'info', 'this node holds the lease again (`awayMs`)'],
  ['handback.end', 'handback', 'info', 'the app is ready; the node did not ask for the lease itself, so it stays a replica'],
  ['handback.reclaim-fail', 'handback', 'warn/error', "could not take the lease back (not synced, not a candidate, or 3 requests): a replica; for a migration's next try, its tries count as spent"],
  ['migrate.give-up', 'handback', 'error', "a migration's tries are spent and no node whose app is ready took the lease: exit 3"],
  ['migrate.given-up', 'handback', 'error', "a migration's tries are spent and a node whose app serves holds the lease: this node waits without its app, and never asks for the lease again in this run"],

  ['backup.start', 'backup', 'info', '`--backup-dir`: saving each database (LiteFS `/export`) before migrating (S8)'],
  ['backup.done', 'backup', 'info', 'backup written (`path`, `bytes`); older ones beyond `--backup-keep` removed'],
  ['backup.retention-fail', 'backup', 'warn', 'backup written, but older ones could not be listed or deleted (`error`); nothing else changes'],
  ['backup.skip', 'backup', 'warn', 'backup skipped (disk too full for it, or `--standalone`: no LiteFS to export from)'],
  ['backup.fail', 'backup', 'error', 'backup failed: the migration is refused, exits 3'],
  ['disk.refuse', 'backup', 'error', 'less than `--min-free-disk` free on the data volume: not migrating, exits 3 (S9)'],
  ['disk.low', 'backup', 'warn', 'the data volume is below `--min-free-disk` free: logged when it begins and every 5 minutes while it lasts (`freePct`, `freeBytes`, `totalBytes`, `lowForMs`); `/status` `disk.low`, `/metrics` `litefs_supervisor_disk_low`. The app keeps running; migrations are refused (S9) and backups skipped (S8) meanwhile; `compact --dry-run` says what compaction would free'],
  ['disk.ok', 'backup', 'info', 'the data volume is above `--min-free-disk` again (`lowForMs`)'],

  ['migrate.confirm', 'migrate', 'info', 'asking a fresh `/info` right before a migration (S1)'],
  ['migrate.start', 'migrate', 'info', 'a `--migrate` command starts (`command`, `index`, `db`, `txid`)'],
  ['migrate.spawned', 'migrate', 'debug', 'its process started (`pid`)'],
  ['migrate.output', 'migrate', 'info', 'one line of its stdout/stderr (`command=migrate[1] stream=stdout`)'],
  ['migrate.done', 'migrate', 'info', 'it exited 0 (`durationMs`)'],
  ['migrate.complete', 'migrate', 'info', 'all migrations applied'],
  ['migrate.fail', 'migrate', 'error', 'a try failed or timed out (`--migrate-timeout`), with its exit code and the last lines of its output; it is retried after 1 s, 2 s, 4 s (`--migrate-retries`) while this node stays primary. Retries used up: before the app started, exit 3; with the app running, the app keeps serving and the migration is tried every 5 minutes'],
  ['migrate.retry-wait', 'migrate', 'warn', 'waiting for the next try (`retryAt`); `/status` shows `failures`, `retryAt` and `lastOutput` per migration, `/metrics` `litefs_supervisor_migration_failures`'],
  ['migrate.skip', 'migrate', 'info/warn', 'not started: no longer primary; or `--on-promotion none`; or the lease was handed back here by a node that migrates itself (S14)'],
  ['migrate.abort', 'migrate', 'warn', 'the lease moved while it ran: stopping it (S6)'],
  ['migrate.aborted', 'migrate', 'warn', 'it stopped; it will run on whichever node holds the lease'],
  ['migrate.stopped', 'migrate', 'info', 'it ended after a stop signal; the app is not started'],

  ['setup.begin', 'commands', 'info', 'a `--setup` command begins (state `starting`, on every node, before anything else)'],
  ['setup.start', 'commands', 'info', 'a `--setup` command starts (`command`, `index`)'],
  ['setup.spawned', 'commands', 'debug', 'its process started (`pid`)'],
  ['setup.output', 'commands', 'info', 'one line of its stdout/stderr (`stream`)'],
  ['setup.done', 'commands', 'info', 'it exited 0 (`durationMs`)'],
  ['setup.fail', 'commands', 'error', 'it failed or timed out (`--migrate-timeout`): the app is not started, exits 3'],
  ['setup.aborted', 'commands', 'warn', 'stopped by the supervisor (as `migrate.aborted`)'],
  ['setup.stopped', 'commands', 'info', 'it ended after a stop signal; the app is not started'],
  ['before.begin', 'commands', 'info', 'the `--before` commands begin (state `starting-app`, every node once synced, after the migrations)'],
  ['before.start', 'commands', 'info', 'a `--before` command starts (`command`, `index`)'],
  ['before.spawned', 'commands', 'debug', 'its process started (`pid`)'],
  ['before.output', 'commands', 'info', 'one line of its stdout/stderr (`stream`)'],
  ['before.done', 'commands', 'info', 'it exited 0 (`durationMs`)'],
  ['before.fail', 'commands', 'error', 'it failed or timed out (`--migrate-timeout`): the app is not started, exits 3'],
  ['before.aborted', 'commands', 'warn', 'stopped by the supervisor (as `migrate.aborted`)'],
  ['before.stopped', 'commands', 'info', 'it ended after a stop signal; the app is not started'],

  ['app.start', 'app', 'info', 'starting the app (`command`, `role`)'],
  ['app.started', 'app', 'info', 'the app is running (`pid`)'],
  ['app.ready', 'app', 'info', 'the app answered `--app-ready` (by default the port of litefs.yml `proxy.target`): `bootMs` after it started; `/health` answers 200 from now on'],
  ['app.not-ready', 'app', 'error', 'the app did not answer `--app-ready` within `--app-ready-timeout`: it is stopped and the run exits 6'],
  ['state.running', 'app', 'info', 'state `running`'],
  ['app.exit', 'app', 'info/warn/error', 'the app exited (`exitCode`, `signal`, `uptimeMs`)'],
  ['app.backoff', 'app', 'info', '`--restart`: restarting after `delayMs`'],
  ['app.spawn-fail', 'app', 'error', 'the app could not be started; exits 126 (not executable) or 127 (not found)'],

  ['signal.received', 'stop', 'info', 'a signal arrived (`signal`)'],
  ['signal.forward', 'stop', 'info', 'forwarded to the app or the running command'],
  ['signal.ignored', 'stop', 'info', 'SIGUSR1/SIGUSR2 with no app to receive it'],
  ['state.stopping', 'stop', 'info', 'stopping after a signal'],
  ['supervisor.stop', 'stop', 'info', 'a signal before the app started: exiting'],
  ['supervisor.exit', 'stop', 'info', 'the supervisor exits (`exitCode`) and why; the line before it says what ended the run'],
  ['supervisor.signal-exit', 'stop', 'info', "after SIGTERM/SIGINT: the app's code (`exitCode`), then it dies of that `signal`"],
  ['supervisor.crash', 'stop', 'error', 'internal error; exits 70'],
];

/** The levels of a row, as a list. */
export function levelsOf(levels: LogLevels): LogLevel[] {
  return levels.split('/') as LogLevel[];
}
