/**
 * Crash safety: instances acknowledged by C-STORE survive `kill -9` of the server right
 * after the acknowledgement, and nothing partial remains after restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENKAKU_BIN, childEnv, freePort, listFiles, needTools, startServer, testConfig } from '../helpers.ts';
import { run } from './dcmtk.ts';
import { writeSeries } from '../../src/server/archive/dicom/synthetic.ts';
import { BufferSource, readFileMeta } from '../../src/server/archive/dicom/parse.ts';
import { createRuntime } from '../../src/server/runtime.ts';
import { createLogger } from '../../src/server/platform/log.ts';

test('instances acknowledged by C-STORE survive kill -9 during a transfer; nothing partial remains', async (t) => {
  if (!needTools(t, ['storescu'], 'apt-get install dcmtk')) return;
  const { config, cleanup } = testConfig();
  config.http.port = await freePort();
  config.dicom.port = await freePort();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-crash-'));
  const env = childEnv(config);
  try {
    // The CLI must see the test's database settings.
    const reg = spawn(process.execPath, [ENKAKU_BIN, 'facility', 'add', '--name', 'Crash Hospital', '--aet', 'CRASHMOD'], { env, stdio: 'ignore' });
    assert.equal(await new Promise((r) => reg.on('exit', r)), 0);
    const { files } = await writeSeries(path.join(work, 'series'), { modality: 'CT', count: 60, rows: 256, columns: 256, seed: 7 });
    const uidOf = new Map(files.map((f) => [f, readFileMeta(new BufferSource(fs.readFileSync(f))).mediaStorageSopInstanceUid]));

    const server = (await startServer(env)).child;
    const acked: string[] = [];
    const scu = spawn('storescu', ['-v', '-aec', 'ENKAKU', '-aet', 'CRASHMOD', '127.0.0.1', String(config.dicom.port), ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    let current = '';
    let buffer = '';
    const onLine = (line: string): void => {
      const sending = /Sending file: (.*)$/.exec(line);
      if (sending) current = sending[1]!.trim();
      if (/Received Store Response \(Success\)/.test(line)) {
        acked.push(uidOf.get(current)!);
        // Kill the server the moment the 25th acknowledgement arrives.
        if (acked.length === 25) server.kill('SIGKILL');
      }
    };
    const feed = (d: Buffer): void => {
      buffer += d.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
      }
    };
    scu.stdout!.on('data', feed);
    scu.stderr!.on('data', feed);
    await new Promise((r) => scu.on('exit', r));
    await new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r(null) : server.on('exit', r)));
    assert.ok(acked.length >= 25, `at least 25 acknowledged before the kill (got ${acked.length})`);
    assert.ok(acked.length < files.length, 'the kill interrupted the transfer');

    // Restart: opening the runtime clears leftovers; then every acknowledged instance must be there, whole.
    const rt = await createRuntime(config, createLogger('silent'));
    try {
      assert.equal(listFiles(rt.blobs.tempDir).length, 0, 'no partial files after restart');
      const rows = await rt.db.kysely.selectFrom('instances').selectAll().execute();
      const stored = new Set(rows.map((r) => r.sop_instance_uid));
      for (const uid of acked) assert.ok(stored.has(uid), `acknowledged instance ${uid} survived`);
      for (const r of rows) {
        assert.ok(await rt.blobs.verify(r.blob_sha256), 'every index row has its blob, intact');
      }
      const study = await rt.db.kysely.selectFrom('studies').selectAll().executeTakeFirstOrThrow();
      assert.equal(study.num_instances, rows.length, 'study counts agree with the rows');
      // The modality resends after the restart: everything lands, nothing twice.
      const server2 = await startServer(env);
      try {
        const again = await run('storescu', ['-aec', 'ENKAKU', '-aet', 'CRASHMOD', '127.0.0.1', String(config.dicom.port), ...files]);
        assert.equal(again.code, 0, again.stderr);
      } finally {
        await server2.stop();
      }
      const after = await rt.db.kysely.selectFrom('instances').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), files.length);
    } finally {
      await rt.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await cleanup();
  }
});
