/**
 * Runs dcmtk command-line tools for interoperability tests.
 */
import { execFile } from 'node:child_process';

/** Exit code and output of a tool run. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool and resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(tool: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A dcmtk tool running in the background (e.g. `storescp` as a C-MOVE destination). */
export interface BackgroundTool {
  /** Everything it printed so far. */
  output(): string;
  /** Ends it and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts a long-running dcmtk tool and resolves once it listens on `port` (polled by
 * connecting), so that the test can use it at once.
 */
export async function startTool(tool: string, args: string[], port: number, timeoutMs = 10_000): Promise<BackgroundTool> {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${tool} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A running dcmtk `dcmqrscp`: a facility PACS for tests (Query/Retrieve SCP with a storage area). */
export interface QrScp {
  aet: string;
  port: number;
  /** Starts it (again) with the same configuration and storage. */
  start(): Promise<void>;
  /** Stops it; its storage is kept. */
  stop(): Promise<void>;
  /** Stores files into it with storescu (`args`: more storescu options, e.g. `-xs` to send JPEG lossless as is). */
  load(files: string[], args?: string[]): Promise<ToolResult>;
}

/**
 * Writes a dcmqrscp configuration into `dir` (an AETable entry for the PACS with a storage
 * area under `dir`, open to any calling AE; a HostTable with its C-MOVE destinations) and
 * starts it on `port`, one process per association (dcmqrscp's default; its single-process
 * mode crashes after the first association in dcmtk 3.6.7).
 */
export async function startDcmqrscp(opts: {
  dir: string;
  aet: string;
  port: number;
  destinations: Array<{ aet: string; host: string; port: number }>;
  /** More dcmqrscp options, e.g. `+xs` to accept (and prefer) JPEG lossless. */
  args?: string[];
}): Promise<QrScp> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const storage = path.join(opts.dir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const config = path.join(opts.dir, 'dcmqrscp.cfg');
  fs.writeFileSync(
    config,
    [
      `NetworkTCPPort  = ${opts.port}`,
      'MaxPDUSize      = 16384',
      'MaxAssociations = 16',
      '',
      'HostTable BEGIN',
      ...opts.destinations.map((d, i) => `dest${i} = (${d.aet}, ${d.host}, ${d.port})`),
      'HostTable END',
      '',
      'VendorTable BEGIN',
      'VendorTable END',
      '',
      'AETable BEGIN',
      `${opts.aet} ${storage} RW (200, 1024mb) ANY`,
      'AETable END',
      '',
    ].join('\n'),
  );
  let tool: BackgroundTool | undefined;
  const qr: QrScp = {
    aet: opts.aet,
    port: opts.port,
    async start() {
      tool = await startTool('dcmqrscp', [...(opts.args ?? []), '-c', config, String(opts.port)], opts.port);
    },
    async stop() {
      await tool?.stop();
      tool = undefined;
    },
    load: (files, args = []) => run('storescu', [...args, '-aec', opts.aet, '-aet', 'LOADER', '127.0.0.1', String(opts.port), ...files]),
  };
  await qr.start();
  return qr;
}
