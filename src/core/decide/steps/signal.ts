// A signal to the supervisor (docs/design.md section 6, S10): forward it to the app, stop the
// app (or hand the lease over first: handover on stop), stop a running command, or exit.

import { signalExitCode } from '../../exit-code.js';
import { mayHandOverOnStop } from '../../rules.js';
import { SHUTDOWN_SIGNALS, STOP_SIGNALS } from '../../signals.js';
import type { Input } from '../../state.js';
import type { Draft, Verdict } from '../draft.js';
import { beginHandover } from './shutdown.js';

export function handleSignal(d: Draft, input: Input): Verdict {
  if (input.type !== 'signal') return 'continue';
  const { s, config } = d;
  const signal = input.signal;
  const exitCode = signalExitCode(signal);
  const app = s.app;
  const appAlive =
    app.status === 'running' || app.status === 'starting' || app.status === 'stopping';
  const cmd = s.current ? s.commands[s.current.index] : undefined;
  const cmdRunning = cmd?.status === 'running';

  if (appAlive) {
    if (SHUTDOWN_SIGNALS.has(signal)) {
      const first = !s.shutdown;
      if (first) s.shutdown = { signal, exitCode };
      const handOver = mayHandOverOnStop({
        role: s.role,
        appRunning: app.status === 'running',
        commandRunning: cmdRunning,
        fenced: s.fence !== undefined,
        config,
      });
      if (first && handOver) {
        beginHandover(d, signal);
        return 'continue';
      }
      if (s.handover) {
        s.handover = undefined;
        d.log('warn', 'handover.abandon', `${signal} again: stopping the app now`, {});
      }
      app.status = app.status === 'starting' ? 'starting' : 'stopping';
      d.enter('stopping', `${signal} received; stopping the app`, 'state.stopping', {});
      if (app.status === 'stopping') {
        d.log('info', 'signal.forward', `forwarding ${signal} to the app`, {
          signal,
          pid: app.pid,
          shutdownTimeout: config.shutdownTimeout,
        });
        d.actions.push({ type: 'stop-app', signal });
      }
      return 'continue';
    }
    if (app.status !== 'starting') {
      d.log('info', 'signal.forward', `forwarding ${signal} to the app`, { signal, pid: app.pid });
      d.actions.push({ type: 'signal-app', signal });
    }
    return 'continue';
  }
  if (!STOP_SIGNALS.has(signal)) {
    d.log('info', 'signal.ignored', `${signal} ignored: no app is running to receive it`, {
      signal,
    });
    return 'continue';
  }
  if (!s.shutdown) s.shutdown = { signal, exitCode };
  if (cmdRunning && cmd) {
    // S10: forward to the command's process group; exit 128+N once it has ended.
    d.enter(
      'stopping',
      `${signal} received during --${cmd.kind}; the app will not be started`,
      'state.stopping',
      {},
    );
    d.log('info', 'signal.forward', `forwarding ${signal} to the --${cmd.kind} command`, {
      signal,
      command: cmd.command,
    });
    d.actions.push({ type: 'stop-command', signal });
    return 'continue';
  }
  return d.exit(
    exitCode,
    'info',
    'supervisor.stop',
    `${signal} received before the app started; exiting`,
    { signal },
  );
}
