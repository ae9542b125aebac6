import t from 'tap';
import { formatLogfmt, formatRecord, parseLogfmt } from '../../src/log/format.js';
import { createLogger } from '../../src/log/logger.js';

t.test(
  'logfmt reads like LiteFS lines: level, msg, event first; values quoted when needed',
  async (t) => {
    t.equal(
      formatLogfmt({
        event: 'migrate.start',
        msg: 'primary with synced database, running migrations',
        level: 'info',
        db: 'sqlite.db',
        txid: '00000000003bf5ac',
      }),
      'level=INFO msg="primary with synced database, running migrations" event=migrate.start db=sqlite.db txid=00000000003bf5ac',
    );
    t.equal(
      formatLogfmt({
        level: 'warn',
        msg: 'x',
        event: 'e',
        n: 3,
        b: false,
        nil: null,
        q: 'say "hi"',
        e: '',
      }),
      'level=WARN msg=x event=e n=3 b=false nil=null q="say \\"hi\\"" e=""',
    );
    t.equal(
      formatLogfmt({ level: 'info', msg: 'a\nb', event: 'e' }),
      'level=INFO msg="a\\nb" event=e',
      'one event, one line',
    );
    t.equal(
      formatLogfmt({
        level: 'error',
        msg: 'm',
        event: 'e',
        err: { type: 'Error', message: 'disk full', stack: '...' },
      }),
      'level=ERROR msg=m event=e err="disk full"',
    );
  },
);

t.test('the logger writes one formatted line per event, at or above its level', async (t) => {
  for (const format of ['logfmt', 'json', 'pretty'] as const) {
    const lines: string[] = [];
    const log = createLogger({ format, level: 'info', write: (l) => lines.push(l) });
    log.log('debug', { event: 'x.debug' }, 'hidden');
    log.log('info', { event: 'x.info', pid: 7 }, 'shown');
    t.equal(lines.length, 1, format);
    t.ok(lines[0]?.endsWith('\n'));
    t.match(lines[0], /x\.info/);
    t.match(lines[0], /pid.{1,3}7/, 'fields are kept');
    if (format === 'json')
      t.match(JSON.parse(lines[0]!), { level: 'info', event: 'x.info', msg: 'shown' });
  }
});

t.test('a line that is not JSON passes through', async (t) => {
  t.equal(formatRecord('plain', 'logfmt', new Date(0)), 'plain\n');
});

t.test('parseLogfmt reads back what formatLogfmt writes', async (t) => {
  const record = { level: 'info', msg: 'say "hi"\nthere', event: 'x.y', n: 3, empty: '' };
  t.same(parseLogfmt(formatLogfmt(record)), {
    level: 'INFO',
    msg: 'say "hi"\nthere',
    event: 'x.y',
    n: '3',
    empty: '',
  });
  t.equal(
    parseLogfmt('example app listening on http://x'),
    undefined,
    'other lines are not records',
  );
});
