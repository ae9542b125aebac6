// doctor's findings about LiteFS on this node: a dead FUSE mount, an API that does not answer,
// and the role it holds (primary, a replica synced or not within --max-lag, no primary known).

import type { syncOf } from './derive.js';
import type { DoctorFacts } from './doctor-facts.js';
import { type AddFinding, NEVER_EDIT } from './doctor-report.js';
import type { Policy } from './policy.js';
import type { Role } from './state.js';

export function litefsFindings(
  f: DoctorFacts,
  config: Policy,
  role: Role | null,
  sync: ReturnType<typeof syncOf> | undefined,
  add: AddFinding,
): void {
  const obs = f.observation;
  const mountError = obs.primaryFile.kind === 'error' ? obs.primaryFile.error : undefined;
  if (mountError !== undefined && /ENOTCONN|not connected/i.test(mountError)) {
    add({
      id: 'mount.dead',
      level: 'error',
      summary: `the mount dir ${config.mountDir} is a dead FUSE mount (${mountError})`,
      means:
        'LiteFS exited without unmounting: seen on LiteFS 0.5.11 when it exits 99 (a write on a db whose history was lost, WAL mode) and after a non-zero exit of its exec command following a signal. Its Consul lease may be held until the session expires',
      wayOut: `find out why LiteFS exited (its log), fix that first (see the other findings), then unmount with \`fusermount3 -u ${config.mountDir}\` or restart the machine; ${NEVER_EDIT}`,
    });
  }
  if (!obs.info.ok) {
    add({
      id: 'litefs.down',
      level: 'info',
      summary: `LiteFS's API at ${config.litefsUrl} does not answer (${obs.info.error})`,
      means:
        'judged from the data dir alone: position from the LTX files, as LiteFS would restore it at its next start; role, lag and peers are not checked',
    });
    return;
  }
  const info = obs.info.value;
  if (role === 'primary') {
    add({
      id: 'litefs.role',
      level: 'ok',
      summary: `LiteFS runs here and this node is the primary (${info.primaryHostname || 'hostname not shown'})`,
      means:
        'its writes replicate to every connected replica; the findings on its databases decide whether that is safe',
    });
  } else if (role === 'replica') {
    const detail = sync?.detail ?? '';
    add({
      id: 'litefs.role',
      level: sync?.synced ? 'ok' : 'warn',
      summary: `LiteFS runs here as a replica of ${info.primaryHostname || 'the primary'}; ${detail}`,
      means: sync?.synced
        ? 'it follows the primary; its copy is replaced by whatever the primary sends'
        : `it is not synced within --max-lag; the supervisor waits (bounded by --sync-timeout) before starting the app`,
      ...(sync?.synced
        ? {}
        : {
            wayOut:
              "check the primary's log and the network between the nodes; a replica that never syncs exits 5 after --sync-timeout",
          }),
    });
  } else {
    add({
      id: 'litefs.role',
      level: 'info',
      summary: `LiteFS runs here but no primary is known${info.primaryHostname ? ` (it names ${info.primaryHostname}, this node itself: the moment after a handoff)` : ''}`,
      means: 'an election or a reconnect is in progress; run doctor again in a few seconds',
    });
  }
}
