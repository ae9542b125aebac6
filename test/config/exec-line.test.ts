// The exec-line check (config.warning "does not run litefs-supervisor") recognises the CLI
// however it is invoked. Seen on real LiteFS: the old substring check warned about the exec
// line `node .../dist/cli/main.js ...` that was running the supervisor (test/real).

import t from 'tap';
import { runsLitefsSupervisor } from '../../src/config/exec-line.js';
import { litefsYmlWarnings } from '../../src/config/load.js';

t.test('recognised: every way of running the CLI', async (t) => {
  for (const cmd of [
    'litefs-supervisor --db app.db -- npm start',
    '/usr/local/bin/litefs-supervisor --db app.db -- npm start',
    './node_modules/.bin/litefs-supervisor --db app.db -- node app.js',
    'npx litefs-supervisor --db app.db -- npm start',
    'npx -y litefs-supervisor@0.1.0 --db app.db -- npm start',
    'npx -p litefs-supervisor litefs-supervisor --db app.db -- npm start',
    'npm exec litefs-supervisor -- --db app.db -- npm start',
    'pnpm exec litefs-supervisor --db app.db -- npm start',
    'yarn dlx litefs-supervisor --db app.db -- npm start',
    'bunx litefs-supervisor --db app.db -- npm start',
    'node /work/wt/dist/cli/main.js --litefs-config /tmp/litefs.yml --db app.db -- node app.mjs',
    'node --enable-source-maps dist/cli/main.js --db app.db -- node app.mjs',
    '/usr/bin/node /opt/litefs-supervisor/dist/cli/main.js --db app.db -- node app.mjs',
    'env NODE_ENV=production litefs-supervisor --db app.db -- npm start',
    'exec litefs-supervisor --db app.db -- npm start',
    'sh -c "litefs-supervisor --db app.db -- npm start"',
    `litefs-supervisor --db app.db --migrate "npx prisma migrate deploy" -- npm start`,
  ]) {
    t.ok(runsLitefsSupervisor(cmd), cmd);
  }
});

t.test('not recognised: other programs, even when they mention it', async (t) => {
  for (const cmd of [
    'npm start',
    'npx prisma migrate deploy',
    'node app.mjs',
    'node server.js --name litefs-supervisor-app',
    'echo litefs-supervisor',
    'sh -c "npm start"',
    'sqlite3 /litefs/app.db "PRAGMA journal_mode = WAL;"',
    'node dist/cli/main.jsx',
  ]) {
    t.notOk(runsLitefsSupervisor(cmd), cmd);
  }
});

t.test('the config warning uses it', async (t) => {
  const facts = (execCommands: string[]) =>
    ({
      path: '/etc/litefs.yml',
      execCommands,
      leasePromote: false,
    }) as unknown as Parameters<typeof litefsYmlWarnings>[0];
  t.same(
    litefsYmlWarnings(facts(['node /srv/dist/cli/main.js --db app.db -- node app.mjs'])),
    [],
    'node .../dist/cli/main.js: no warning',
  );
  t.match(litefsYmlWarnings(facts(['echo litefs-supervisor'])), [
    /exec command "echo litefs-supervisor" .* does not run litefs-supervisor/,
  ]);
});
