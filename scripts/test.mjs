#!/usr/bin/env node
// Runs every *.test.ts file with node's test runner (through tsx).
// SQLite by default; PostgreSQL when ENKAKU_TEST_DATABASE_URL is set (each test runtime
// gets a fresh schema). ENKAKU_TEST_STRICT=1 turns "tool missing, skipped" into failures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const roots = ['src', 'test', 'bench'];
const files = [];
const walk = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') walk(p);
    } else if (e.name.endsWith('.test.ts')) files.push(p);
  }
};
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (only.length) files.push(...only);
else roots.forEach(walk);
files.sort();

const db = process.env.ENKAKU_TEST_DATABASE_URL ? `PostgreSQL (${process.env.ENKAKU_TEST_DATABASE_URL.replace(/\/\/[^@]*@/, '//')})` : 'SQLite';
process.stdout.write(`Enkaku tests: ${files.length} files on ${db}${process.env.ENKAKU_TEST_STRICT === '1' ? ', strict mode (missing tools fail)' : ''}\n`);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, ENKAKU_LOG_LEVEL: process.env.ENKAKU_LOG_LEVEL ?? 'silent' } },
);
process.exit(r.status ?? 1);
