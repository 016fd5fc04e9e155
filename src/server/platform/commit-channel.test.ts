/**
 * Messages delivered on commit (the worklist's and the finding alerts' transport), on the
 * database under test: a committed change is heard, a rolled-back one is not; on PostgreSQL
 * two nodes hear each other, and a node whose LISTEN connection is cut comes back, says so,
 * and hears again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { TEST_DATABASE_URL, testRuntime } from '../../../test/helpers.ts';
import type { Runtime } from '../runtime.ts';
import { CommitChannel, commitChannelName } from './commit-channel.ts';

interface Message {
  id: string;
  version: number;
}

const until = async (check: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('commit channel', { concurrency: false }, () => {
  let rt: Runtime & { cleanup: () => Promise<void> };
  const channels: Array<CommitChannel<Message>> = [];

  before(async () => {
    rt = await testRuntime();
    await sql`create table if not exists commit_channel_test (id text primary key, version integer not null)`.execute(rt.db.kysely);
  });
  after(async () => {
    for (const c of channels) await c.close();
    await rt?.cleanup();
  });

  /** A node: its channel and what it heard. */
  const node = (reconnects: string[] = []) => {
    const heard: Array<{ m: Message; own: boolean }> = [];
    const channel = new CommitChannel<Message>({
      dialect: rt.db.dialect,
      log: rt.log,
      listen: rt.config.databaseUrl ? { url: rt.config.databaseUrl, schema: rt.config.databaseSchema } : undefined,
      prefix: 'enkaku_test',
      key: 'm',
      logName: 'test',
      what: 'test messages',
      deliver: (m, own) => heard.push({ m, own }),
      committed: async (m) => {
        const row = await rt.db.kysely.selectFrom('commit_channel_test' as never).select('version' as never).where('id' as never, '=', m.id as never).executeTakeFirst() as { version: number } | undefined;
        return !!row && row.version >= m.version;
      },
      onReconnect: () => reconnects.push('again'),
    });
    channels.push(channel);
    return { channel, heard };
  };

  /** Writes a row and sends its message in one transaction, committed or rolled back. */
  const change = async (c: CommitChannel<Message>, m: Message, commit: boolean): Promise<void> => {
    await rt.db.kysely.transaction().execute(async (trx) => {
      await sql`insert into commit_channel_test (id, version) values (${m.id}, ${m.version}) on conflict (id) do update set version = excluded.version`.execute(trx);
      await c.publish(trx, m);
      if (!commit) throw new Error('rolled back');
    }).catch((err: Error) => {
      if (commit || err.message !== 'rolled back') throw err;
    });
  };

  test('a committed change is heard once by its own node; a rolled-back one never', async () => {
    const a = node();
    await a.channel.ready();
    await change(a.channel, { id: 'x1', version: 1 }, false);
    await change(a.channel, { id: 'x2', version: 1 }, true);
    await until(() => a.heard.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(a.heard, [{ m: { id: 'x2', version: 1 }, own: true }]);
  });

  test('channel names stay within PostgreSQL\'s 63 bytes, distinct per schema', () => {
    assert.equal(commitChannelName('enkaku_worklist', undefined), 'enkaku_worklist_public');
    const long = commitChannelName('enkaku_worklist', 's'.repeat(80));
    assert.ok(long.length <= 63);
    assert.notEqual(long, commitChannelName('enkaku_worklist', `${'s'.repeat(79)}t`));
  });

  if (TEST_DATABASE_URL) test('PostgreSQL: two nodes hear each other; a node whose connection is cut reconnects, says so, and hears again', async () => {
    const reconnects: string[] = [];
    const a = node();
    const b = node(reconnects);
    await Promise.all([a.channel.ready(), b.channel.ready()]);
    await change(a.channel, { id: 'y1', version: 1 }, true);
    await until(() => a.heard.length >= 1 && b.heard.length >= 1);
    assert.deepEqual(a.heard.at(-1), { m: { id: 'y1', version: 1 }, own: true });
    assert.deepEqual(b.heard.at(-1), { m: { id: 'y1', version: 1 }, own: false });

    // Cut b's LISTEN connection from the server side.
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      const r = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where query ilike $1 and pid <> pg_backend_pid()`, [`listen%${b.channel.channel}%`]);
      assert.ok(r.rows.length >= 1, 'the listening connection is found');
      for (const { pid } of r.rows) await admin.query('select pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    await until(() => reconnects.length >= 1, 10_000);
    const before = b.heard.length;
    await change(a.channel, { id: 'y2', version: 1 }, true);
    await until(() => b.heard.length > before);
    assert.deepEqual(b.heard.at(-1), { m: { id: 'y2', version: 1 }, own: false });
  });
});
