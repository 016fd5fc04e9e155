#!/usr/bin/env node
// Builds the web application into dist/web when it is missing or older than its sources
// (src/web, src/shared, vite.config.ts). `--force` always builds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist', 'web', 'index.html');
const newest = (p) => {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((e) => newest(path.join(p, e))));
};
const force = process.argv.includes('--force');
const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
const sources = Math.max(newest(path.join(root, 'src', 'web')), newest(path.join(root, 'src', 'shared')), newest(path.join(root, 'vite.config.ts')));
if (!force && built > sources) process.exit(0);
process.stdout.write('Building the web application (dist/web)...\n');
// Built beside dist/web and swapped in whole, so that a server already serving dist/web (a
// browser test running while another one builds) never sees a half-written application.
const web = path.join(root, 'dist', 'web');
const tmp = path.join(root, 'dist', `web.build-${process.pid}`);
const old = path.join(root, 'dist', `web.old-${process.pid}`);
const r = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(root, 'vite.config.ts'), '--logLevel', 'warn', '--outDir', tmp, '--emptyOutDir'],
  { stdio: 'inherit', cwd: root },
);
if (r.status !== 0) {
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}
if (fs.existsSync(web)) fs.renameSync(web, old);
fs.renameSync(tmp, web);
fs.rmSync(old, { recursive: true, force: true });
