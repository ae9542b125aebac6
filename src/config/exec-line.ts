// Does a litefs.yml `exec` command run litefs-supervisor? Used for the warning about exec
// commands that run without the supervisor's checks (docs/design.md section 1). The line is split as
// LiteFS splits it (shellwords, no shell), then launchers are skipped: environment assignments,
// `env`, `exec`, `npx`, `npm exec`, `pnpm exec|dlx`, `yarn [dlx]`, `bunx`, `node [flags]`, `tini
// --`, and `sh -c "<line>"` (whose line is checked the same way). The first program left is ours
// when it is `litefs-supervisor` (on PATH, or any path to the bin), `litefs-supervisor@<version>`
// (npx), or the CLI file itself, `.../dist/cli/main.js`, run by node (seen on real LiteFS: the
// old substring check warned about `node .../dist/cli/main.js`).

import { shellwords } from './shellwords.js';

const LAUNCHERS: ReadonlySet<string> = new Set([
  'env',
  'exec',
  'npx',
  'npm',
  'pnpm',
  'yarn',
  'bunx',
  'bun',
  'node',
  'nodejs',
  'tini',
  'dumb-init',
  'sudo',
]);
/** Sub-commands of a launcher that still launch something (`npm exec`, `yarn dlx`, `bun x`). */
const LAUNCH_VERBS: ReadonlySet<string> = new Set(['exec', 'dlx', 'x', 'run']);
const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'ash', 'zsh']);
/** Launcher options that take a value in the next word (`node -r x`, `npx -p pkg`). */
const TAKES_VALUE: ReadonlySet<string> = new Set([
  '-r',
  '--require',
  '--import',
  '-p',
  '--package',
]);

function basename(word: string): string {
  const i = word.lastIndexOf('/');
  return i === -1 ? word : word.slice(i + 1);
}

/** The supervisor's own program, however it is named on the line. */
export function isSupervisorProgram(word: string): boolean {
  const base = basename(word);
  if (base === 'litefs-supervisor' || base.startsWith('litefs-supervisor@')) return true;
  return /(^|\/)dist\/cli\/main\.js$/.test(word);
}

/** True when LiteFS running this exec command starts litefs-supervisor. */
export function runsLitefsSupervisor(cmd: string, depth = 0): boolean {
  const split = shellwords(cmd);
  if (!split.ok) return cmd.includes('litefs-supervisor'); // LiteFS refuses it anyway
  const words = split.args;
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  let afterLauncher = false;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (isSupervisorProgram(word)) return true;
    if (word.startsWith('-')) {
      if (!afterLauncher) return false;
      if (TAKES_VALUE.has(word)) {
        // `npx -p litefs-supervisor ...` names the package: that counts.
        if (isSupervisorProgram(words[i + 1] ?? '')) return true;
        i++;
      }
      continue;
    }
    const base = basename(word);
    if (SHELLS.has(base)) {
      const c = words.indexOf('-c', i + 1);
      return c !== -1 && depth < 3 && runsLitefsSupervisor(words[c + 1] ?? '', depth + 1);
    }
    if (LAUNCHERS.has(base) || (afterLauncher && LAUNCH_VERBS.has(word))) {
      afterLauncher = true;
      continue;
    }
    if (afterLauncher && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue; // env A=1 cmd
    return false;
  }
  return false;
}
