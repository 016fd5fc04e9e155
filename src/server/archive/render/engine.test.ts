import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { generateSeries } from '../dicom/synthetic.ts';
import { FrameCache } from './cache.ts';
import { RenderEngine } from './engine.ts';
import { RenderParamError } from './errors.ts';
import { parseRenderedParams } from './params.ts';
import { fixtureFile } from './test-fixtures.ts';

const ct = [...generateSeries({ modality: 'CT', count: 5, rows: 96, columns: 96, seed: 11 })].map((i) => i.bytes);
/** CR is 428 x 352 mm: 107 x 88 pixels of 4 mm. */
const [cr] = [...generateSeries({ modality: 'CR', count: 1, rows: 107, columns: 88, seed: 11 })].map((i) => i.bytes);
const params = (query: Record<string, unknown>, accept = 'image/png') => parseRenderedParams(query, accept, 'rendered');

describe('viewport (PS3.18 §8.3.5.1.3)', () => {
  const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });

  it('scales to fit inside the viewport keeping the aspect ratio', async () => {
    const square = await engine.renderPixels({ key: 'ct0', bytes: ct[0]! }, params({ viewport: '48,24' }));
    assert.deepEqual([square.width, square.height, square.data.length], [24, 24, 24 * 24]);
    const tall = await engine.render({ key: 'cr', bytes: cr! }, params({ viewport: '64,64' }));
    assert.deepEqual([tall.width, tall.height], [53, 64]);
    const up = await engine.render({ key: 'ct0', bytes: ct[0]! }, params({ viewport: '192,300' }));
    assert.deepEqual([up.width, up.height], [192, 192]);
  });

  it('gives thumbnails 128x128 at most', async () => {
    const thumb = await engine.render({ key: 'cr', bytes: cr! }, parseRenderedParams({}, undefined, 'thumbnail'));
    assert.deepEqual([thumb.width, thumb.height, thumb.contentType], [105, 128, 'image/jpeg']);
  });

  it('crops the source region and flips it when sw or sh is negative', async () => {
    const file = fixtureFile({ rows: 2, columns: 3, photometric: 'MONOCHROME2', bitsAllocated: 8, pixels: Uint8Array.from([0, 100, 200, 10, 110, 210]) });
    const at = (query: Record<string, unknown>) => engine.renderPixels({ key: 'tiny', bytes: file }, { ...params(query), window: { center: 127.5, width: 255, fn: 'LINEAR_EXACT' } });
    assert.deepEqual([...(await at({})).data], [0, 100, 200, 10, 110, 210]);
    assert.deepEqual([...(await at({ viewport: '3,2,0,0,-3,2' })).data], [200, 100, 0, 210, 110, 10]);
    assert.deepEqual([...(await at({ viewport: '3,2,0,0,3,-2' })).data], [10, 110, 210, 0, 100, 200]);
    const region = await at({ viewport: '2,1,1,1,2,1' });
    assert.deepEqual([region.width, region.height, ...region.data], [2, 1, 110, 210]);
    await assert.rejects(at({ viewport: '10,10,5,5,2,2' }), RenderParamError);
  });
});

describe('encoding', () => {
  const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });

  it('writes PNG that decodes to exactly the rendered pixels', async () => {
    for (const [key, bytes] of [['ct1', ct[1]!], ['cr', cr!]] as const) {
      const raw = await engine.renderPixels({ key, bytes }, params({}));
      const png = await engine.render({ key, bytes }, params({}));
      assert.equal(png.contentType, 'image/png');
      assert.deepEqual([...png.body.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.body[25], 0, 'PNG colour type 0: grayscale');
      const back = await sharp(png.body).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      assert.equal(back.info.channels, 1);
      assert.deepEqual([back.info.width, back.info.height], [raw.width, raw.height]);
      assert.ok(Buffer.from(raw.data).equals(back.data), `${key}: decoded PNG differs from the rendered pixels`);
    }
  });

  it('writes colour PNG that decodes to exactly the rendered RGB', async () => {
    const rgb = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const file = fixtureFile({ rows: 3, columns: 4, photometric: 'RGB', bitsAllocated: 8, samplesPerPixel: 3, pixels: rgb });
    const png = await engine.render({ key: 'rgb', bytes: file }, params({}));
    assert.equal(png.body[25], 2, 'PNG colour type 2: truecolour');
    const back = await sharp(png.body).raw().toBuffer();
    assert.ok(back.equals(Buffer.from(rgb)));
  });

  it('writes scaled PNG equal to the scaled pixels', async () => {
    const raw = await engine.renderPixels({ key: 'ct1', bytes: ct[1]! }, params({ viewport: '40,40' }));
    const png = await engine.render({ key: 'ct1', bytes: ct[1]! }, params({ viewport: '40,40' }));
    const back = await sharp(png.body).toColourspace('b-w').raw().toBuffer();
    assert.ok(Buffer.from(raw.data).equals(back));
  });

  it('writes baseline JPEG of the requested size and quality', async () => {
    const jpeg = await engine.render({ key: 'ct1', bytes: ct[1]! }, params({ viewport: '64,64', quality: '80' }, 'image/jpeg'));
    assert.equal(jpeg.contentType, 'image/jpeg');
    assert.deepEqual([...jpeg.body.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    const meta = await sharp(jpeg.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.isProgressive], ['jpeg', 64, 64, false]);
    const best = await engine.render({ key: 'ct1', bytes: ct[1]! }, params({ viewport: '64,64', quality: '100' }, 'image/jpeg'));
    assert.ok(best.body.length > jpeg.body.length, 'quality 100 is larger than quality 80');
  });
});

describe('frame cache', () => {
  it('re-windows a cached frame without decoding it again', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    let reads = 0;
    const source = { key: 'ct2', bytes: async () => (reads++, ct[2]!) };
    const soft = await engine.renderPixels(source, params({ window: '40,400,linear' }));
    const lung = await engine.renderPixels(source, params({ window: '-600,1500,linear' }));
    assert.notDeepEqual(soft.data, lung.data);
    assert.equal(engine.stats().decodes, 1);
    assert.equal(engine.stats().cache.hits, 1);
    assert.equal(reads, 1, 'the file is read only for the decode');
  });

  it('stays within its byte limit, evicting the least recently used frames', async () => {
    const frameBytes = 96 * 96 * 2;
    const engine = new RenderEngine({ cacheBytes: frameBytes * 2 + 100, imageCacheBytes: 0 });
    for (let i = 0; i < 5; i++) await engine.render({ key: `ct${i}`, bytes: ct[i]! }, params({}));
    const s = engine.stats();
    assert.ok(s.cache.bytes <= s.cache.limit, `${s.cache.bytes} bytes cached, limit ${s.cache.limit}`);
    assert.equal(s.cache.entries, 2);
    assert.equal(s.cache.evictions, 3);
    await engine.render({ key: 'ct4', bytes: ct[4]! }, params({}));
    assert.equal(engine.stats().decodes, 5, 'the most recent frame is still cached');
    await engine.render({ key: 'ct0', bytes: ct[0]! }, params({}));
    assert.equal(engine.stats().decodes, 6, 'the oldest frame was evicted');
  });

  it('serves an image it has made before without rendering it again, for exactly the same parameters', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    const source = { key: 'ct1', bytes: ct[1]! };
    const first = await engine.render(source, params({ window: '40,400,linear' }));
    const again = await engine.render(source, params({ window: '40,400,linear' }));
    assert.equal(again.body, first.body);
    assert.equal(engine.stats().encodes, 1);
    await engine.render(source, params({ window: '40,401,linear' }));
    await engine.render(source, params({ window: '40,400,linear' }, 'image/jpeg'));
    await engine.render(source, { ...params({ window: '40,400,linear' }), outputLut: Uint8Array.from({ length: 256 }, (_, i) => 255 - i) });
    assert.equal(engine.stats().encodes, 4, 'another window, media type or output LUT is another image');
    // The same LUT contents in another table object is the same image.
    await engine.render(source, { ...params({ window: '40,400,linear' }), outputLut: Array.from({ length: 256 }, (_, i) => 255 - i) });
    assert.equal(engine.stats().encodes, 4);
    engine.forget('ct1');
    await engine.render(source, params({ window: '40,400,linear' }));
    assert.equal(engine.stats().encodes, 5, 'a forgotten instance is rendered again');
  });

  it('renders the next slices ahead of a reader, and a new read-ahead replaces the slices still waiting', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    const read: number[] = [];
    const src = (i: number) => ({ key: `ahead${i}`, bytes: async () => (read.push(i), ct[i]!) });
    const req = params({ window: '40,400,linear' });
    engine.readAhead([1, 2, 3].map((i) => ({ source: src(i), req })));
    engine.readAhead([4].map((i) => ({ source: src(i), req })));
    for (let t = 0; t < 200 && engine.stats().readAheads < 1; t++) await new Promise((r) => setTimeout(r, 5));
    for (let t = 0; t < 200 && engine.stats().encodes < 1; t++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(read, [4], 'only the latest read-ahead ran');
    const before = engine.stats().encodes;
    const shown = await engine.render(src(4), req);
    assert.equal(engine.stats().encodes, before, 'the slice read ahead was served from memory');
    assert.equal(shown.contentType, 'image/png');
    assert.deepEqual(read, [4]);
    assert.equal(engine.stats().cache.entries, 0, 'the frame decoded ahead was not kept decoded, only its image');
    await engine.render(src(4), params({ window: '80,200,linear' }));
    await engine.render(src(4), params({ window: '60,300,linear' }));
    assert.deepEqual(read, [4, 4], 'a new window on that slice decodes it once more, then from memory');
    assert.equal(engine.stats().cache.entries, 1);
  });

  it('renders slices ahead from lent memory that is reused afterwards, and keeps nothing of it', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    const reference = new RenderEngine({ cacheBytes: 0, imageCacheBytes: 0 });
    // Memory lent to one render at a time, overwritten and lent again once it is returned.
    const pool: Buffer[] = [];
    const lent: number[] = [];
    const src = (i: number) => ({
      key: `lent${i}`,
      bytes: async () => ct[i]!,
      lend: async <T,>(use: (bytes: Buffer) => Promise<T>): Promise<T> => {
        lent.push(i);
        const buf = pool.pop() ?? Buffer.alloc(ct[i]!.length + 4096);
        ct[i]!.copy(buf);
        try {
          return await use(buf.subarray(0, ct[i]!.length));
        } finally {
          buf.fill(0x5a);
          pool.push(buf);
        }
      },
    });
    const req = params({ window: '40,400,linear' });
    engine.readAhead([1, 2, 3].map((i) => ({ source: src(i), req })));
    for (let t = 0; t < 400 && engine.stats().encodes < 3; t++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(lent, [1, 2, 3]);
    for (const i of [1, 2, 3]) {
      const before = engine.stats().encodes;
      const shown = await engine.render(src(i), req);
      assert.equal(engine.stats().encodes, before, `slice ${i} came from memory`);
      const expected = await reference.render({ key: `ref${i}`, bytes: ct[i]! }, req);
      assert.ok(shown.body.equals(expected.body), `slice ${i} is its own image, not the lent memory's later content`);
    }
    assert.equal(engine.stats().cache.entries, 0, 'no decoded frame points into lent memory');
    const images = await Promise.all([1, 2, 3].map((i) => reference.render({ key: `ref${i}`, bytes: ct[i]! }, req)));
    assert.equal(new Set(images.map((m) => m.body.toString('base64'))).size, 3, 'the slices differ, so a mix-up would show');
    assert.ok(pool.length >= 1 && pool.length <= 2, 'the memory was returned after use');
  });

  it('shows a slice first from lent memory, and keeps it decoded once the reader re-windows it', async () => {
    const engine = new RenderEngine({ cacheBytes: 8 * 1024 * 1024 });
    const reference = new RenderEngine({ cacheBytes: 0, imageCacheBytes: 0 });
    const how: string[] = [];
    const src = {
      key: 'shown4',
      bytes: async () => {
        how.push('read');
        return ct[4]!;
      },
      lend: async <T,>(use: (bytes: Buffer) => Promise<T>): Promise<T> => {
        how.push('lent');
        const buf = Buffer.from(ct[4]!);
        try {
          return await use(buf);
        } finally {
          buf.fill(0x5a);
        }
      },
    };
    const soft = params({ window: '40,400,linear' });
    const bone = params({ window: '500,2000,linear' });
    const first = await engine.render(src, soft);
    assert.deepEqual(how, ['lent']);
    assert.equal(engine.stats().cache.entries, 0, 'shown once: only the image is kept');
    assert.ok(first.body.equals((await reference.render({ key: 'r4', bytes: ct[4]! }, soft)).body), 'the image made from lent memory is right');
    const rewindowed = await engine.render(src, bone);
    assert.deepEqual(how, ['lent', 'read'], 'a second window reads the file once more');
    assert.equal(engine.stats().cache.entries, 1, '... and keeps the decoded frame');
    assert.ok(rewindowed.body.equals((await reference.render({ key: 'r4', bytes: ct[4]! }, bone)).body));
    await engine.render(src, params({ window: '100,50,linear' }));
    assert.deepEqual(how, ['lent', 'read'], 'further windows come from the kept frame');
  });

  it('renders many slices at once, from files at any even offset in memory, each to its own pixels', async () => {
    // No image cache: every request is rendered, and the display memory is reused between encodes.
    const engine = new RenderEngine({ cacheBytes: 0, imageCacheBytes: 0 });
    const reference = new RenderEngine({ cacheBytes: 0, imageCacheBytes: 0 });
    /** How each file was asked for: on the calling thread (a lone request) or not. */
    const asked: boolean[] = [];
    /** The file lent at `shift` bytes into its memory: pixel data at either 2-byte alignment. */
    const src = (i: number, shift: number, prefix = 'any') => ({
      key: `${prefix}${i}`,
      bytes: async () => ct[i]!,
      lend: async <T,>(use: (bytes: Buffer) => Promise<T>, now?: boolean): Promise<T> => {
        asked.push(now === true);
        const buf = Buffer.alloc(ct[i]!.length + 8);
        ct[i]!.copy(buf, shift);
        return use(buf.subarray(shift, shift + ct[i]!.length));
      },
    });
    const requests = [params({}), params({ window: '60,300,linear' }), params({ viewport: '48,48' }), params({ viewport: '64,64,8,8,64,64' }), params({}, 'image/jpeg')];
    const jobs = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < ct.length; i++) for (const [k, req] of requests.entries()) jobs.push({ i, k, req, shift: (round + i) % 2 === 0 ? 0 : 2 });
    }
    const images = await Promise.all(jobs.map((j) => engine.render(src(j.i, j.shift), j.req)));
    for (const [n, j] of jobs.entries()) {
      // The encoders are deterministic: the same pixels give the same bytes.
      const expected = await reference.render({ key: `ref${j.i}`, bytes: ct[j.i]! }, j.req);
      assert.ok(images[n]!.body.equals(expected.body), `slice ${j.i}, request ${j.k}, file at offset ${j.shift}: its own image`);
    }
    const distinct = new Set(images.slice(0, ct.length * requests.length).map((m) => m.body.toString('base64')));
    assert.equal(distinct.size, ct.length * requests.length, 'every slice and request gives a different image, so a mix-up would show');
    assert.equal(asked.filter((now) => now).length, 1, 'of requests rendered together only the first is made on the calling thread');
    // One at a time, each slice's first request is made on the calling thread, with the same result.
    asked.length = 0;
    const alone = jobs.filter((j) => j.k === 1).slice(0, ct.length);
    for (const j of alone) {
      const image = await engine.render(src(j.i, j.shift, 'alone'), j.req);
      assert.ok(image.body.equals((await reference.render({ key: `ref${j.i}`, bytes: ct[j.i]! }, j.req)).body));
    }
    assert.deepEqual(asked, Array(ct.length).fill(true));
  });

  it('does not keep an entry larger than the whole cache', () => {
    const cache = new FrameCache<string>(10);
    assert.equal(cache.set('big', 'x', 11), false);
    assert.equal(cache.set('a', 'a', 6), true);
    assert.equal(cache.set('b', 'b', 6), true);
    assert.deepEqual([cache.has('a'), cache.has('b'), cache.stats().bytes], [false, true, 6]);
  });
});

describe('modality values for measurements (PS3.4 N.2.1.1)', () => {
  it('gives stored values through Rescale Slope and Intercept, padding marked, from the cached decode', async () => {
    const engine = new RenderEngine({ cacheBytes: 1024 * 1024 });
    // Signed 16-bit, 12 bits stored: -2048 is padding; slope 2, intercept -10.
    const pixels = Int16Array.from([-2048, -5, 0, 7, 100, 2047]);
    const file = fixtureFile({
      rows: 2,
      columns: 3,
      photometric: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 1,
      pixels,
      extra: [
        [0x00080060, 'CS', 'CT'],
        [0x00280030, 'DS', '0.7\\0.6'],
        [0x00280120, 'SS', [-2048]],
        [0x00281052, 'DS', '-10'],
        [0x00281053, 'DS', '2'],
      ],
    });
    let reads = 0;
    const source = { key: 'signed', bytes: async () => (reads++, file) };
    const m = await engine.modalityValues(source);
    assert.deepEqual([m.width, m.height, m.frames], [3, 2, 1]);
    assert.deepEqual([...m.values!], [...pixels].map((v) => v * 2 - 10));
    assert.deepEqual([...m.padding!], [1, 0, 0, 0, 0, 0]);
    assert.deepEqual(m.attributes, { modality: 'CT', rescaleType: '', pixelSpacing: [0.7, 0.6], imagerPixelSpacing: undefined, pixelSpacingCalibrationType: '' });
    await engine.render(source, params({}));
    assert.equal(reads, 1, 'rendering reuses the frame decoded for the measurement');
    await assert.rejects(engine.modalityValues(source, 2), /frame 2 does not exist/);
  });

  it('has no modality values for colour images', async () => {
    const engine = new RenderEngine({ cacheBytes: 1024 * 1024 });
    const file = fixtureFile({ rows: 1, columns: 2, photometric: 'RGB', bitsAllocated: 8, samplesPerPixel: 3, pixels: Uint8Array.from([255, 0, 0, 0, 255, 0]) });
    const m = await engine.modalityValues({ key: 'rgb', bytes: file });
    assert.deepEqual([m.values, m.padding, m.width], [null, null, 2]);
  });
});
