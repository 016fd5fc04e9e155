#!/usr/bin/env node
// Entry point of the `enkaku` command: runs the TypeScript CLI through tsx.
import os from 'node:os';

// libuv's thread pool reads stored files, checks their SHA-256, hashes passwords and runs
// sharp's encoders. Its default of 4 threads would leave most CPUs of a larger server idle
// while readers scroll; one thread per CPU (4 at least, 64 at most) unless the operator set
// UV_THREADPOOL_SIZE. It must be set before the pool is first used, hence here.
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.min(64, Math.max(4, os.availableParallelism())));
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/server/main.ts');
