import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMediaType, readMultipart } from './multipart.ts';
import { AppError } from '../../platform/errors.ts';

async function collect(body: Buffer, boundary: string, chunkSize: number): Promise<Array<{ headers: Record<string, string>; body: Buffer }>> {
  const parts: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < body.length; i += chunkSize) yield body.subarray(i, i + chunkSize);
  }
  await readMultipart(chunks(), boundary, async (headers) => {
    const got: Buffer[] = [];
    return {
      write: async (c) => void got.push(Buffer.from(c)),
      end: async () => void parts.push({ headers, body: Buffer.concat(got) }),
    };
  });
  return parts;
}

function multipart(boundary: string, parts: Buffer[]): Buffer {
  const out: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const p of parts) out.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n'));
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

test('parts come out byte-exact whatever the chunking, even when the body contains boundary-like bytes', async () => {
  const boundary = 'b0undary-XYZ';
  const tricky = Buffer.concat([Buffer.from(`\r\n--${boundary.slice(0, 5)}`), Buffer.alloc(1000, 0xff), Buffer.from('\r\n-')]);
  const payloads = [Buffer.from('first'), tricky, Buffer.alloc(70_000, 7)];
  const body = multipart(boundary, payloads);
  for (const size of [1, 3, 17, 1024, body.length]) {
    const parts = await collect(body, boundary, size);
    assert.equal(parts.length, 3, `chunk size ${size}`);
    parts.forEach((p, i) => {
      assert.deepEqual(p.body, payloads[i], `part ${i} with chunk size ${size}`);
      assert.equal(p.headers['content-type'], 'application/dicom');
    });
  }
});

test('a body cut before its closing boundary is refused', async () => {
  const body = multipart('xx', [Buffer.from('abc')]);
  await assert.rejects(collect(body.subarray(0, body.length - 8), 'xx', 4), (e: unknown) => e instanceof AppError && e.code === 'bad_request');
});

test('media type parameters are parsed with quotes', () => {
  const m = parseMediaType('Multipart/Related; type="application/dicom"; boundary="a b;c"');
  assert.equal(m.type, 'multipart/related');
  assert.equal(m.params.type, 'application/dicom');
  assert.equal(m.params.boundary, 'a b;c');
});
