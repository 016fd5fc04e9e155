/**
 * The `enkaku` command: facility registration, token creation, import with summary, demo,
 * and `serve` answering its health endpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENKAKU_BIN, childEnv, freePort, startServer, testConfig } from '../helpers.ts';
import { writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';

function enkaku(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [ENKAKU_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test('facility add, token create, import and demo work from the command line', async () => {
  const { config, cleanup } = testConfig();
  const env = childEnv(config);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-cli-'));
  try {
    const add = await enkaku(env, ['facility', 'add', '--name', '東京クリニック', '--aet', 'TKYCT', '--aet', 'TKYMR']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /東京クリニック.*TKYCT, TKYMR/);
    const dup = await enkaku(env, ['facility', 'add', '--name', 'Other', '--aet', 'TKYCT']);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /AE title already registered: TKYCT/);
    const badAet = await enkaku(env, ['facility', 'add', '--name', 'Bad', '--aet', 'THIS_AE_TITLE_IS_TOO_LONG']);
    assert.match(badAet.stderr, /invalid AE title/);

    const token = await enkaku(env, ['token', 'create', '--facility', '東京クリニック', '--scope', 'dicomweb:write']);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout.trim(), /^enk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const badScope = await enkaku(env, ['token', 'create', '--facility', '東京クリニック', '--scope', 'everything']);
    assert.match(badScope.stderr, /unknown scope "everything"/);

    // A CD-like folder: DICOMDIR, images in nested folders without extensions, a readme, a broken file.
    const cd = path.join(work, 'cd');
    const { files } = await writeSeries(path.join(cd, 'DICOM', 'ST0001'), { modality: 'CT', count: 5, rows: 32, columns: 32, seed: 3 });
    for (const f of files) fs.renameSync(f, f.replace(/\.dcm$/, ''));
    fs.writeFileSync(path.join(cd, 'README.TXT'), 'viewer instructions');
    fs.writeFileSync(path.join(cd, 'DICOMDIR'), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM')]));
    const broken = fs.readFileSync(files[0]!.replace(/\.dcm$/, '')).subarray(0, 600);
    fs.writeFileSync(path.join(cd, 'DICOM', 'BROKEN'), broken);
    const imp = await enkaku(env, ['import', cd, '--facility', '東京クリニック']);
    assert.equal(imp.code, 1, 'a refused file makes the import exit non-zero');
    assert.match(imp.stdout, /imported 5 new instance\(s\), 0 already stored, 2 non-DICOM file\(s\) skipped, 1 refused \(malformed 1\)/);
    assert.match(imp.stdout, /refused: DICOM\/BROKEN: .*truncated/);
    const again = await enkaku(env, ['import', path.join(cd, 'DICOM', 'ST0001'), '--facility', '東京クリニック']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /imported 0 new instance\(s\), 5 already stored/);

    const user = await enkaku(env, ['user', 'add', '--username', 'Dr.Sato', '--name', '佐藤 医師', '--role', 'radiologist']);
    assert.equal(user.code, 0, user.stderr);
    assert.match(user.stdout, /user "dr.sato" created; initial password \(shown once, must be changed at first login\): \S{13,}/);
    const badRole = await enkaku(env, ['user', 'add', '--username', 'someone', '--name', 'x', '--role', 'wizard']);
    assert.match(badRole.stderr, /unknown role "wizard"/);

    const demo = await enkaku(env, ['demo']);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /synthetic CT study: 60 instance\(s\) stored/);
    const rt = await createRuntime(config, createLogger('silent'));
    try {
      const p = await rt.db.kysely.selectFrom('patients').selectAll().where('name_ideographic', '=', '山田^太郎').execute();
      assert.equal(p.length, 2, 'demo and import patients, each under its own facility');
      const list = await enkaku(env, ['facility', 'list']);
      assert.match(list.stdout, /デモ総合病院/);

      // Every stored instance is in the audit trail; verify-audit proves the chain and names tampering.
      const stored = await rt.db.kysely.selectFrom('audit_events').select((e) => e.fn.countAll().as('n')).where('action', '=', 'instance.store').executeTakeFirstOrThrow();
      assert.equal(Number(stored.n), 65);
      const ok = await enkaku(env, ['verify-audit']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /audit trail OK: \d+ entries, head [0-9a-f]{64}/);
      await rt.db.kysely.updateTable('audit_events').set({ details: '{"source":"edited"}' }).where('seq', '=', 3).execute();
      const bad = await enkaku(env, ['verify-audit']);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /audit trail DAMAGED: entry 3 edited/);
    } finally {
      await rt.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await cleanup();
  }
});

test('serve answers /healthz and /readyz and prints where to connect', async () => {
  const { config, cleanup } = testConfig();
  config.http.port = await freePort();
  config.dicom.port = await freePort();
  const env = childEnv(config);
  delete env.UV_THREADPOOL_SIZE;
  const server = await startServer(env);
  try {
    const out = server.output();
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${config.http.port}/`));
    const threads = Math.min(64, Math.max(4, os.availableParallelism()));
    assert.match(out, new RegExp(`Thread pool: +${threads} threads`), 'one thread per CPU, at least 4');
    assert.match(out, new RegExp(`AE title ENKAKU, 127\\.0\\.0\\.1:${config.dicom.port}`));
    assert.match(out, /facility add --name/);
    const setup = /\/setup\?token=([A-Za-z0-9_-]+)/.exec(out);
    assert.ok(setup, 'the first start prints a one-time setup link');
    const status = await fetch(`http://127.0.0.1:${config.http.port}/api/setup`);
    assert.deepEqual(await status.json(), { needed: true });
    const done = await fetch(`http://127.0.0.1:${config.http.port}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: setup[1], username: 'admin', displayName: '管理者', password: 'Correct-Horse-9-Battery' }),
    });
    assert.equal(done.status, 201);
    const health = await fetch(`http://127.0.0.1:${config.http.port}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${config.http.port}/readyz`);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', storage: 'ok' } });
  } finally {
    await server.stop();
    await cleanup();
  }
});

test('serve refuses plain HTTP on a non-loopback address', async () => {
  const { config, cleanup } = testConfig();
  const child = spawn(process.execPath, [ENKAKU_BIN, 'serve'], { env: childEnv(config, { ENKAKU_HTTP_HOST: '0.0.0.0', ENKAKU_HTTP_PORT: String(await freePort()), ENKAKU_DICOM_PORT: String(await freePort()) }), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  assert.notEqual(code, 0);
  assert.match(err, /refusing to serve plain HTTP on 0\.0\.0\.0/);
  await cleanup();
});
