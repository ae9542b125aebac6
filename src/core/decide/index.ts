// decide: (state, input, config, now) -> (state, actions). The whole supervisor's logic.
// Pure: no I/O, no clock (now is an input), no randomness. The runner (src/supervisor.ts)
// carries the actions out and feeds the results back as inputs. One decision: the input is
// recorded (record.ts), then the steps of PIPELINE run in order until one says 'done', then
// the wake (the next deadline, deadlines.ts) is set.

import type { Policy } from '../policy.js';
import type { Action, Input, SupervisorState } from '../state.js';
import { nextWake } from './deadlines.js';
import { Draft, type Step } from './draft.js';
import { record } from './record.js';
import { appLifecycle, restartWhenDue } from './steps/app.js';
import { appEvent } from './steps/app-events.js';
import { commandInFlight } from './steps/command.js';
import { commandEnded } from './steps/command-ended.js';
import { compactEvent, compactProgress } from './steps/compact.js';
import { diskAlarm } from './steps/disk.js';
import { holdFence } from './steps/fence.js';
import { handBack } from './steps/hand-back.js';
import { haveObservation, litefsReachable, roleKnown } from './steps/litefs.js';
import { backupFailed, migrations } from './steps/migrate.js';
import { askAboutNewPrimary, raiseRewindAlarms, writeHwm } from './steps/observed.js';
import { primaryCleared } from './steps/primary.js';
import { recordData } from './steps/record.js';
import { promote, replicaSynced } from './steps/replica.js';
import { settleSelfHalt } from './steps/self-halt.js';
import { stopping } from './steps/shutdown.js';
import { handleSignal } from './steps/signal.js';
import { beforeCommands, setupCommands, startApp } from './steps/start.js';

export interface Decision {
  state: SupervisorState;
  actions: Action[];
}

/**
 * The steps, in order. The first ones act on what this input recorded (each only for its own
 * kind of input); the rest choose the next step from the facts, from stopping down to
 * starting the app. Each returns 'continue' or 'done'; the first 'done' ends the decision
 * (an exit is always 'done').
 */
export const PIPELINE: readonly Step[] = [
  // What the input recorded.
  writeHwm, // docs/design.md section 3: the state file, at most every 5 s
  askAboutNewPrimary, // S11
  raiseRewindAlarms, // S11
  diskAlarm, // the low-disk alarm (--min-free-disk): logged, never stops anything
  compactEvent, // compaction: a request, an I/O result, the command gone, a stop signal
  handleSignal, // S10, handover on stop
  commandEnded, // S1 retries, S10, --before failed
  appEvent, // app started / could not start / exited (--restart)
  backupFailed, // S8
  recordData, // the cluster record: a cleared primary records the dbs it holds data in
  // The facts, from stopping down to starting the app.
  restartWhenDue, // --restart backoff over
  stopping, // shutdown: nothing new starts; the handover
  commandInFlight, // S6 abort, S1 confirmation
  setupCommands, // --setup: every node, at the start, before anything else
  haveObservation,
  compactProgress, // compaction: abort on a lost lease, a fence or the timeout; the app stays stopped
  holdFence, // S4
  handBack, // S14: the lease goes where an app serves while this one cannot
  appLifecycle, // the app runs (S7)
  litefsReachable,
  roleKnown,
  primaryCleared, // S2, S3, S13 -> S4
  migrations, // S8, S9, S1
  replicaSynced,
  promote, // S5
  beforeCommands,
  startApp,
];

export function decide(prev: SupervisorState, input: Input, config: Policy, now: number): Decision {
  if (prev.exited !== undefined) return { state: prev, actions: [] };
  const d = new Draft(structuredClone(prev), config, now);
  record(d, input);
  // S7: this node's own write lock goes as soon as its reason does, whatever this input was
  // and whatever the steps decide (before them: an app that exited, a lost lease; after them:
  // checks passed, a stop, an exit).
  settleSelfHalt(d);
  for (const step of PIPELINE) {
    if (step(d, input) === 'done') break;
  }
  settleSelfHalt(d);
  d.s.wake = nextWake(d.s, config, now);
  return { state: d.s, actions: d.actions };
}
