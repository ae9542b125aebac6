// --help and --version. The option list is generated from the table in src/config/schema.ts so
// it cannot drift from what the parser accepts.

import type { Group, OptionSpec } from '../config/option.js';
import { OPTIONS } from '../config/schema.js';

const WIDTH = 90;

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

function optionLines(o: OptionSpec): string[] {
  const usage = o.kind.placeholder === '' ? o.flag : `${o.flag} ${o.kind.placeholder}`;
  const repeat = o.kind.type === 'list' ? ' (repeatable)' : '';
  return [
    `  ${usage}${repeat}`,
    ...wrap(o.help, '      '),
    ...(o.kind.range === undefined ? [] : [`      range: ${o.kind.range}`]),
    ...wrap(`default: ${o.defaultText}`, '      '),
    `      env: ${o.env}`,
  ];
}

export function helpText(): string {
  const lines = [
    'litefs-supervisor: runs migrations only on a synced LiteFS primary, then supervises your',
    'app and answers health checks.',
    '',
    'Usage:',
    '  litefs-supervisor [options] -- <app command> [args...]',
    '  litefs-supervisor status [--health-url URL] [--json]',
    '  litefs-supervisor check [options] [-- <app command>]',
    '  litefs-supervisor doctor [options] [--json]',
    '  litefs-supervisor record [options] [--json] | record reset --yes',
    '  litefs-supervisor init [--litefs-config FILE] [--write]',
    '  litefs-supervisor before-mount [options] [--max-wait DUR]   (then: exec litefs mount)',
    '  litefs-supervisor --help | --version',
    '',
    'Commands:',
    '  (none)   wait for LiteFS, migrate on a synced primary, then start and supervise the app',
    "  status   print the running supervisor's /status; --health-url URL (default from",
    '           --health-addr, http://127.0.0.1:9090), --json for the raw JSON',
    '  check    validate the configuration and print the plan, with what each db in the mount',
    '           holds (pages, TXID, hasData, historyLost); exit 0, or 2 when invalid',
    '  doctor   read-only diagnosis of this node, from the same options and litefs.yml: per db',
    "           the page count against LiteFS's position and LTX files (history lost), header,",
    '           cluster ID, state file and high-water mark (and whether it is on the data',
    "           volume), free space, and while LiteFS runs its role, lag and the peers'",
    '           evidence; each finding with what it means and the way out. Writes nothing.',
    '           Exit 0 when nothing is wrong, 1 otherwise, 2 on bad options; --json for JSON',
    '  record   show the cluster record in Consul (which dbs the cluster has held data in, since',
    "           when, recorded by which node), read from litefs.yml's lease.consul; `record reset",
    '           --yes` deletes it, only for when the data is gone for good and a new cluster is',
    '           meant. Exit 0, 1 when Consul fails, 2 when the record is off or --yes is missing',
    '  init     rewrite the litefs.yml found (./litefs.yml, then other/litefs.yml; or',
    '           --litefs-config FILE) so the supervisor is its one exec command: exec entries',
    '           become --setup/--migrate/--before and the app, lease.promote: true becomes',
    '           --promote, and a Consul lease gets reconnect-delay "100ms" (unless below 1s).',
    '           Prints the change as a diff and what the Dockerfile and fly.toml beside it',
    '           need; writes only with --write (the old file kept beside it). Exit 0 converted',
    '           or already converted, 2 when an entry cannot be mapped or a value is refused',
    '  before-mount  run before `litefs mount` (Dockerfile: litefs-supervisor before-mount &&',
    '           exec litefs mount): when the lease in Consul is free (released, or expired while',
    '           the cluster ID remains), give the running nodes the first chance at it, up to',
    "           2 x reconnect-delay + 500ms (expired: + TTL/2 + lock-delay, litefs.yml's values),",
    '           so a node starting with older data does not take it; --max-wait DUR caps that',
    '           (0: never wait). Exit 0 (also when Consul fails), 130/143 when stopped while',
    '           waiting, 2 on bad options',
  ];
  const groups = new Map<Group, OptionSpec[]>();
  for (const o of OPTIONS) groups.set(o.group, [...(groups.get(o.group) ?? []), o]);
  for (const [group, options] of groups) {
    lines.push('', `${group}:`);
    for (const o of options) lines.push(...optionLines(o));
  }
  lines.push(
    '',
    ...wrap(
      'Every option can also be set in the environment as LITEFS_SUPERVISOR_<NAME> (repeatable ' +
        'options one per line, booleans true/false/1/0, an empty variable counts as unset) and ' +
        'in the --config file with the name in camelCase (maxLag: 10s). Precedence: command ' +
        'line > environment > --config > litefs.yml > defaults. Durations are Go-style: 500ms, ' +
        '10s, 5m, 1h30m. Unknown options and keys are errors.',
      '',
    ),
    '',
    ...wrap(
      "Exit codes: the app's code (128+N if killed by signal N); 126/127 the app could not " +
        'start; 2 bad configuration; 3 a --setup/--before/--migrate command failed or the disk guard ' +
        'refused; 4 fenced and could not hand off; 5 --sync-timeout reached; 70 internal error.',
      '',
    ),
  );
  return `${lines.join('\n')}\n`;
}

export function versionText(version: string): string {
  return `litefs-supervisor ${version}\n`;
}
