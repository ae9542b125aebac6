// What the app's start or end means: a stop may be due at once (a signal or a fence arrived
// while it was spawned); its exit ends the run (a signal, --restart, the app that could not be
// started) or starts the restart backoff (docs/design.md section 6).

import { EXIT } from '../../exit-code.js';
import { restartVerdict } from '../../restart.js';
import type { Input } from '../../state.js';
import { due } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

export function appEvent(d: Draft, input: Input): Verdict {
  switch (input.type) {
    case 'app-started':
      return appStarted(d);
    case 'app-spawn-failed':
      return d.exit(
        input.exitCode,
        'error',
        'app.spawn-fail',
        `the app could not be started: ${input.error}`,
        {
          command: d.config.command.join(' '),
          hint:
            input.exitCode === 127
              ? 'check the command after -- exists in PATH'
              : 'check the command after -- is executable',
        },
      );
    case 'app-exit':
      return appExited(d, input.exitCode, input.signal);
    case 'app-ready':
      return appReady(d, input.pid);
    default:
      return appReadyTimeout(d);
  }
}

/**
 * Readiness (docs/design.md section 6): the app answered its probe. Logged with its boot time;
 * `/health` answers 200 from now on (section 7).
 */
function appReady(d: Draft, pid: number): Verdict {
  const app = d.s.app;
  if (app.pid !== pid || app.ready || app.status !== 'running') return 'continue';
  app.ready = true;
  app.readyAt = d.now;
  app.readyBy = undefined;
  d.log('info', 'app.ready', `the app is ready (${d.config.appReady})`, {
    pid,
    bootMs: app.startedAt === undefined ? undefined : d.now - app.startedAt,
  });
  return 'continue';
}

/** An app still not ready at --app-ready-timeout is stopped, and the run ends with 6. */
function appReadyTimeout(d: Draft): Verdict {
  const { s, config } = d;
  const app = s.app;
  if (s.shutdown || !due('app-ready-timeout', s, config, d.now)) {
    return 'continue';
  }
  return d.exit(
    EXIT.appNotReady,
    'error',
    'app.not-ready',
    `the app did not become ready within --app-ready-timeout (${config.appReady} did not answer); stopping it`,
    {
      pid: app.pid,
      appReady: config.appReady,
      appReadyTimeout: config.appReadyTimeout,
      hint: 'check that the app listens where --app-ready (default: litefs.yml proxy.target) says, or raise --app-ready-timeout',
    },
  );
}

function appStarted(d: Draft): Verdict {
  const s = d.s;
  const app = s.app;
  // A fence that began while the app was being spawned asked for it to stop (steps/fence.ts).
  const fencedWhileStarting = app.status === 'stopping' && !s.shutdown;
  if (s.shutdown) {
    // A stop signal arrived while the app was being spawned: pass it on now.
    const signal = s.shutdown.signal ?? 'SIGTERM';
    app.status = 'stopping';
    d.log('info', 'signal.forward', `forwarding ${signal} to the app`, { signal, pid: app.pid });
    d.actions.push({ type: 'stop-app', signal });
    return 'continue';
  }
  if (fencedWhileStarting) {
    // S4: a fenced node writes nothing, so its app must not run either.
    d.log('warn', 'app.stop', 'stopping the app: this node was fenced while it started', {
      pid: app.pid,
    });
    d.actions.push({ type: 'stop-app', signal: 'SIGTERM' });
    return 'continue';
  }
  app.status = 'running';
  d.enter('running', 'app started', 'state.running', {});
  s.waitingSince = undefined;
  if (d.config.appReady === 'none') {
    app.ready = true;
    app.readyAt = d.now;
  } else if (app.pid !== undefined) {
    app.readyBy = d.now + d.config.appReadyTimeout;
    d.actions.push({ type: 'watch-app-ready', pid: app.pid });
  }
  return 'continue';
}

function appExited(d: Draft, exitCode: number, signal: string | undefined): Verdict {
  const { s, config } = d;
  const app = s.app;
  app.ready = false;
  app.readyBy = undefined;
  const fields = {
    exitCode,
    signal,
    uptimeMs: app.startedAt ? d.now - app.startedAt : undefined,
  };
  if (s.fence || d.news.appStopAsked) {
    // S4: we stopped it because this node is fenced: a stop we asked for, never restarted.
    d.log('info', 'app.exit', 'app stopped while fenced', fields);
    // S10: a SIGTERM/SIGINT that arrived while the fenced app was stopping ends the run now
    // (nothing starts once shutting down). The fence, not the app, ended the app's run, so the
    // code is the signal's 128+N, as for a fenced node without an app.
    if (s.shutdown) {
      const { signal: received, exitCode: code } = s.shutdown;
      return d.exit(code, 'info', 'supervisor.stop', `${received} received while fenced; exiting`, {
        signal: received,
      });
    }
    return 'continue';
  }
  if (s.shutdown) {
    // docs/design.md section 9: the app's code (128+N after a signal) ends the run, also when
    // we forwarded the signal: never 0 just because the supervisor was asked to stop.
    return d.exit(exitCode, 'info', 'app.exit', 'app exited after the forwarded signal', fields);
  }
  const verdict = restartVerdict(config, exitCode, app.restartTimes, d.now);
  if (!verdict.restart) {
    return d.exit(
      exitCode,
      exitCode === 0 ? 'info' : 'error',
      'app.exit',
      `app exited; not restarting: ${verdict.why}`,
      fields,
    );
  }
  app.restartTimes = verdict.recentRestarts;
  d.log('warn', 'app.exit', `app exited; restarting in ${verdict.delayMs}ms`, fields);
  d.enter(
    'restarting',
    `app exited with code ${exitCode}; backoff ${verdict.delayMs}ms`,
    'app.backoff',
    {
      delayMs: verdict.delayMs,
      restartsInWindow: verdict.recentRestarts.length,
    },
  );
  app.restartAt = d.now + verdict.delayMs; // steps/app.ts restarts it then (the wake)
  return 'continue';
}
