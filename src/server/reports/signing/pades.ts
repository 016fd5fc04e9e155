/**
 * PAdES signing of a rendered report PDF (ETSI EN 319 142-1, baseline B-T; ISO 32000-1
 * §12.8): the PDF carries an empty signature field (pdf/signature-field.ts); the byte range
 * is everything but the `/Contents` hex string, its SHA-256 is signed as a detached CAdES
 * signature, and the DER signature goes into `/Contents`. The byte range covers the whole
 * file, so changing any byte outside the signature breaks it.
 */
import { BYTE_RANGE_PLACEHOLDER } from '../pdf/index.ts';
import { sha256 } from './cms.ts';

/** Where the placeholders are in a PDF. */
interface Placeholders {
  byteRangeAt: number;
  /** Offset of `<` and of the byte after `>` of the `/Contents` hex string. */
  contentsStart: number;
  contentsEnd: number;
}

function findPlaceholders(pdf: Buffer): Placeholders {
  const byteRangeAt = pdf.indexOf(BYTE_RANGE_PLACEHOLDER, 0, 'latin1');
  if (byteRangeAt < 0) throw new Error('the PDF has no signature placeholder');
  if (pdf.indexOf(BYTE_RANGE_PLACEHOLDER, byteRangeAt + 1, 'latin1') >= 0) throw new Error('the PDF has more than one signature placeholder');
  const key = pdf.indexOf('/Contents <', byteRangeAt, 'latin1');
  if (key < 0) throw new Error('the signature placeholder has no /Contents');
  const contentsStart = key + '/Contents '.length;
  const contentsEnd = pdf.indexOf('>', contentsStart, 'latin1') + 1;
  if (contentsEnd <= contentsStart) throw new Error('the /Contents placeholder is not closed');
  for (let i = contentsStart + 1; i < contentsEnd - 1; i++) if (pdf[i] !== 0x30) throw new Error('the /Contents placeholder is not empty');
  return { byteRangeAt, contentsStart, contentsEnd };
}

/**
 * Signs a PDF that has a signature placeholder.
 * @param pdf - the rendered PDF (pdf/renderReportPdf with a signature field)
 * @param signDigest - makes the DER CMS signature over the SHA-256 of the byte range
 * @returns the signed PDF (same length as the input)
 */
export async function signPdf(pdf: Buffer, signDigest: (sha256Digest: Buffer) => Promise<Buffer>): Promise<Buffer> {
  const p = findPlaceholders(pdf);
  const out = Buffer.from(pdf);
  const range = [0, p.contentsStart, p.contentsEnd, out.length - p.contentsEnd];
  const text = `/ByteRange [${range.join(' ')}]`;
  if (text.length > BYTE_RANGE_PLACEHOLDER.length) throw new Error('the PDF is too large for its byte range placeholder');
  out.write(text.padEnd(BYTE_RANGE_PLACEHOLDER.length, ' '), p.byteRangeAt, 'latin1');
  const digest = sha256(Buffer.concat([out.subarray(0, p.contentsStart), out.subarray(p.contentsEnd)]));
  const cms = await signDigest(digest);
  const room = p.contentsEnd - p.contentsStart - 2;
  const hex = cms.toString('hex');
  if (hex.length > room) throw new Error(`the signature (${cms.length} bytes) does not fit the ${room / 2}-byte placeholder`);
  out.write(hex.padEnd(room, '0'), p.contentsStart + 1, 'latin1');
  return out;
}

/** A PDF signature as found in the file: the byte range and the CMS in `/Contents`. */
export interface PdfSignature {
  byteRange: [number, number, number, number];
  /** The DER CMS (zero padding removed). */
  cms: Buffer;
  /** The bytes the byte range covers. */
  signedBytes: Buffer;
  /** True when the byte range starts at 0, ends at the end of the file and leaves out only `/Contents`. */
  coversWholeDocument: boolean;
  /** The signature dictionary's SubFilter. */
  subFilter: string;
}

/** The DER length of the first element of a buffer (tag, length, content). */
function derLength(buf: Buffer): number {
  if (buf.length < 2) throw new Error('no DER value');
  const first = buf[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || buf.length < 2 + n) throw new Error('DER length not supported');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i]!;
  return 2 + n + len;
}

/** Finds the last signature of a PDF (the one the file was last signed with). */
export function readPdfSignature(pdf: Buffer): PdfSignature {
  const text = pdf.toString('latin1');
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g;
  let m: RegExpExecArray | null;
  let last: RegExpExecArray | undefined;
  while ((m = re.exec(text))) last = m;
  if (!last) throw new Error('the PDF is not signed (no /ByteRange)');
  const byteRange = [Number(last[1]), Number(last[2]), Number(last[3]), Number(last[4])] as [number, number, number, number];
  const [a, b, c, d] = byteRange;
  if (a < 0 || b <= a || c <= b || c + d > pdf.length) throw new Error('the signature byte range lies outside the file');
  const hex = text.slice(b, c);
  if (!/^<[0-9a-fA-F]*>$/.test(hex)) throw new Error('the signature byte range does not leave out exactly the /Contents string');
  const raw = Buffer.from(hex.slice(1, -1), 'hex');
  const cms = raw.subarray(0, derLength(raw));
  const dict = text.slice(Math.max(0, last.index - 2000), Math.min(text.length, c + 2000));
  const subFilter = /\/SubFilter\s*\/([A-Za-z0-9.]+)/.exec(dict)?.[1] ?? '';
  return {
    byteRange,
    cms: Buffer.from(cms),
    signedBytes: Buffer.concat([pdf.subarray(a, a + b), pdf.subarray(c, c + d)]),
    coversWholeDocument: a === 0 && c + d === pdf.length,
    subFilter,
  };
}
