// `litefs-supervisor init [--litefs-config FILE] [--write]`: rewrites the litefs.yml it finds
// (./litefs.yml, then other/litefs.yml, as the Epic Stack keeps it) so that the supervisor is
// LiteFS's one exec command, prints the change as a diff, and says what the Dockerfile and
// fly.toml beside it need. Without --write nothing is written. Exit 0: converted (or already
// converted); 2: it cannot map the file, each reason naming the entry; 1: it could not write.

import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { convertLitefsYml } from '../config/init-litefs-yml.js';
import { EXIT } from '../core/exit-code.js';
import { describeFsError, errorCode, replaceFile } from '../system/disk.js';
import { unifiedDiff } from './diff.js';
import {
  type Advice,
  dockerfileAdvice,
  type FileText,
  flyTomlAdvice,
  lineFacts,
} from './init-advice.js';

export interface InitOptions {
  litefsConfig: string | undefined;
  write: boolean;
  cwd: string;
  version: string;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** The file could not be written (it is as it was; an old copy may have been kept). */
export const WRITE_FAILED = 1;

/** Where init looks when --litefs-config is not given, in order. */
export const INIT_SEARCH = ['litefs.yml', join('other', 'litefs.yml')];

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'EISDIR') return undefined;
    throw err;
  }
}

/** The first of `names` in `dirs` that exists. */
async function findBeside(dirs: string[], names: string[]): Promise<FileText | undefined> {
  for (const dir of [...new Set(dirs)]) {
    for (const name of names) {
      const path = join(dir, name);
      const text = await readIfExists(path);
      if (text !== undefined) return { path, text };
    }
  }
  return undefined;
}

/**
 * A name beside `path` for the old file that no earlier run used: `<name>.before-init`, then
 * `.before-init.1`, `.2`... created exclusively, so an earlier copy is never overwritten.
 */
async function keepOld(path: string, text: string, mode: number): Promise<string> {
  for (let n = 0; n < 1000; n++) {
    const name = `${path}.before-init${n === 0 ? '' : `.${n}`}`;
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') continue;
      throw err;
    }
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return name;
  }
  throw new Error(`no free name for a copy of ${path} (.before-init to .before-init.999 exist)`);
}

export async function runInit(o: InitOptions): Promise<number> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  const err = o.err ?? ((s: string) => process.stderr.write(s));
  const show = (p: string) => {
    const r = relative(o.cwd, p);
    return r === '' || r.startsWith('..') ? p : r;
  };

  // Which litefs.yml.
  let path: string;
  let text: string | undefined;
  if (o.litefsConfig !== undefined) {
    path = resolve(o.cwd, o.litefsConfig);
    text = await readIfExists(path).catch((e: unknown) => {
      err(`litefs-supervisor init: cannot read ${show(path)}: ${describeFsError(e)}\n`);
      return undefined;
    });
    if (text === undefined) {
      err(`litefs-supervisor init: ${show(path)} (--litefs-config) does not exist\n`);
      return EXIT.config;
    }
    out(`litefs.yml: ${show(path)} (--litefs-config)\n`);
  } else {
    const found = await findBeside([o.cwd], INIT_SEARCH);
    if (!found) {
      err(
        `litefs-supervisor init: no litefs.yml at ${INIT_SEARCH.map((p) => `./${p}`).join(' or ')}; pass --litefs-config FILE\n`,
      );
      return EXIT.config;
    }
    path = found.path;
    text = found.text;
    out(
      `litefs.yml: ${show(path)} (the first of ${INIT_SEARCH.map((p) => `./${p}`).join(', ')})\n`,
    );
  }

  const result = convertLitefsYml(text);
  let line: string | undefined;
  if (result.kind === 'refused') {
    err(
      `litefs-supervisor init: cannot convert ${show(path)}; nothing was written:\n${result.problems.map((p) => `  - ${p}\n`).join('')}`,
    );
    return EXIT.config;
  }
  if (result.kind === 'already') {
    line = result.line;
    out(`${show(path)} is already converted (${result.why}); nothing to change.\n`);
  } else {
    line = result.line;
    out(`\n${unifiedDiff(show(path), text, result.text)}\n`);
    if (result.notes.length > 0) {
      out(`What each part became:\n${result.notes.map((n) => `  - ${n}\n`).join('')}`);
    }
    if (result.warnings.length > 0) {
      out(`\nWarnings:\n${result.warnings.map((w) => `  - ${w}\n`).join('')}`);
    }
    if (o.write) {
      // The file as it is now must be the one converted: a change since would be lost.
      const now = await readIfExists(path);
      if (now !== text) {
        err(`litefs-supervisor init: ${show(path)} changed while init ran; nothing was written\n`);
        return EXIT.config;
      }
      let kept: string;
      try {
        const mode = (await stat(path)).mode & 0o7777;
        kept = await keepOld(path, text, mode);
        await replaceFile(
          path,
          { tmp: `${path}.init-${process.pid}.tmp`, dirMode: 0o755, fileMode: mode },
          async (fh, step) => {
            step(`writing ${path}.init-${process.pid}.tmp`);
            await fh.writeFile(result.text, 'utf8');
            // open() applied the umask: the file keeps the mode it had.
            await fh.chmod(mode);
            return { ok: true, value: undefined };
          },
        );
      } catch (e) {
        err(`litefs-supervisor init: cannot write ${show(path)}: ${describeFsError(e)}\n`);
        return WRITE_FAILED;
      }
      out(`\nWrote ${show(path)}; the old file is kept as ${show(kept)}.\n`);
    } else {
      out(`\nNothing written: run again with --write to write ${show(path)}.\n`);
    }
  }

  // The deploy files: beside litefs.yml, else at the repository root (where init runs).
  const dirs = [dirname(path), o.cwd];
  const facts = lineFacts(line ?? '');
  const docker = await findBeside(dirs, ['Dockerfile']);
  const fly = await findBeside(dirs, ['fly.toml']);
  const advice: Advice[] = [
    ...(docker ? dockerfileAdvice(docker, facts, o.version) : []),
    ...(fly ? flyTomlAdvice(fly, facts) : []),
  ];
  out('\nThe image and the Fly app (read only, never edited):\n');
  if (!docker) out(`  no Dockerfile beside ${basename(path)} or in ${show(o.cwd) || '.'}\n`);
  if (!fly) out(`  no fly.toml beside ${basename(path)} or in ${show(o.cwd) || '.'}\n`);
  for (const a of advice) {
    const [first, ...rest] = a.text.split('\n');
    out(`  ${a.kind === 'ok' ? 'ok    ' : 'change'} ${show(a.file)}: ${first}\n`);
    for (const r of rest) out(`           ${r}\n`);
  }
  out(
    `\nThen: litefs-supervisor check --litefs-config ${show(path)} in the image (fly ssh console) shows the plan.\n`,
  );
  return 0;
}
