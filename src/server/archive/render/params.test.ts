import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotAcceptableError, RenderParamError } from './errors.ts';
import { parseRenderedParams, selectMediaType } from './params.ts';

const rendered = (query: Record<string, unknown>, accept?: string) => parseRenderedParams(query, accept, 'rendered');

describe('rendered query parameters (PS3.18 §8.3.5)', () => {
  it('defaults to image/jpeg at quality 90, frame 1, no window, no viewport', () => {
    const r = rendered({});
    assert.equal(r.mediaType, 'image/jpeg');
    assert.equal(r.quality, 90);
    assert.equal(r.frame, 1);
    assert.equal(r.window, undefined);
    assert.equal(r.viewport, undefined);
    assert.deepEqual(r.ignoredAnnotations, []);
  });

  it('reads window=center,width,function in either spelling', () => {
    assert.deepEqual(rendered({ window: '40,400,linear' }).window, { center: 40, width: 400, fn: 'LINEAR' });
    assert.deepEqual(rendered({ window: '-600,1500,LINEAR_EXACT' }).window, { center: -600, width: 1500, fn: 'LINEAR_EXACT' });
    assert.deepEqual(rendered({ window: '0.5,2.5e2,sigmoid' }).window, { center: 0.5, width: 250, fn: 'SIGMOID' });
    assert.deepEqual(rendered({ window: '40,400' }).window, { center: 40, width: 400, fn: 'LINEAR' });
  });

  it('refuses ill-formed windows with a message naming the parameter', () => {
    for (const bad of ['40', 'abc,400,linear', '40,0,linear', '40,0.5,linear', '40,-1,sigmoid', '40,400,cubic', '40,400,linear,x']) {
      assert.throws(() => rendered({ window: bad }), (e: unknown) => e instanceof RenderParamError && e.status === 400 && e.message.startsWith('window:'), bad);
    }
    assert.equal(rendered({ window: '40,0.5,linear-exact' }).window?.width, 0.5);
  });

  it('reads viewport sizes, elided values and flips', () => {
    assert.deepEqual(rendered({ viewport: '256,128' }).viewport, { width: 256, height: 128 });
    assert.deepEqual(rendered({ viewport: '512,512,,,256,256' }).viewport, { width: 512, height: 512, sw: 256, sh: 256 });
    assert.deepEqual(rendered({ viewport: '100,100,-10,20.5,-50,60' }).viewport, { width: 100, height: 100, sx: 10, sy: 20.5, sw: -50, sh: 60 });
    for (const bad of ['0,100', '100', '100,abc', '1.5,100', '100,100,0,0,0,10', '99999,10']) {
      assert.throws(() => rendered({ viewport: bad }), RenderParamError, bad);
    }
  });

  it('gives thumbnails a 128x128 viewport and refuses a source region for them', () => {
    const t = parseRenderedParams({}, undefined, 'thumbnail');
    assert.deepEqual(t.viewport, { width: 128, height: 128 });
    assert.deepEqual(parseRenderedParams({ viewport: '64,32' }, undefined, 'thumbnail').viewport, { width: 64, height: 32 });
    assert.throws(() => parseRenderedParams({ viewport: '64,64,0,0,10,10' }, undefined, 'thumbnail'), RenderParamError);
  });

  it('accepts quality 1..100 only', () => {
    assert.equal(rendered({ quality: '75' }).quality, 75);
    for (const bad of ['0', '101', '7.5', 'high', '']) assert.throws(() => rendered({ quality: bad }), /quality:/, bad);
  });

  it('ignores annotation keywords (reported for the Warning header) and refuses non-keywords', () => {
    assert.deepEqual(rendered({ annotation: 'patient,technique' }).ignoredAnnotations, ['patient', 'technique']);
    assert.deepEqual(rendered({ annotation: ['patient', 'patient'] }).ignoredAnnotations, ['patient']);
    assert.throws(() => rendered({ annotation: '' }), /annotation:/);
    assert.throws(() => rendered({ annotation: 'patient name' }), /annotation:/);
  });

  it('refuses a repeated single-valued parameter', () => {
    assert.throws(() => rendered({ window: ['40,400,linear', '50,400,linear'] }), /window: given more than once/);
  });
});

describe('rendered media type (PS3.18 §8.3.3.1, Table 8.7.4-1)', () => {
  it('chooses what the client prefers among image/png and image/jpeg', () => {
    assert.equal(selectMediaType(undefined, 'image/png'), 'image/png');
    assert.equal(selectMediaType(undefined, 'image/png, image/jpeg;q=0.5'), 'image/png');
    assert.equal(selectMediaType(undefined, 'image/png;q=0.4, image/jpeg;q=0.5'), 'image/jpeg');
    assert.equal(selectMediaType(undefined, 'image/*'), 'image/jpeg');
    assert.equal(selectMediaType(undefined, '*/*'), 'image/jpeg');
    assert.equal(selectMediaType('image/png', undefined), 'image/png');
    assert.equal(selectMediaType('image/png', 'image/*'), 'image/png');
  });

  it('answers in the default image/jpeg when nothing acceptable can be written', () => {
    assert.equal(selectMediaType(undefined, 'image/webp'), 'image/jpeg');
    assert.equal(selectMediaType('image/gif', undefined), 'image/jpeg');
    assert.equal(selectMediaType(undefined, 'application/dicom'), 'image/jpeg');
  });

  it('refuses with 406 when the client refuses image/jpeg and accepts nothing else supported', () => {
    assert.throws(() => selectMediaType(undefined, 'image/webp, image/jpeg;q=0'), (e: unknown) => e instanceof NotAcceptableError && e.status === 406);
    assert.throws(() => selectMediaType(undefined, 'image/*;q=0'), NotAcceptableError);
  });

  it('refuses DICOM and non-DICOM media types together in the accept parameter', () => {
    assert.throws(() => selectMediaType('application/dicom,image/png', undefined), /accept:/);
  });

  it('reads the accept parameter from the query', () => {
    assert.equal(rendered({ accept: 'image/png' }).mediaType, 'image/png');
    assert.equal(rendered({}, 'image/png').mediaType, 'image/png');
  });
});
