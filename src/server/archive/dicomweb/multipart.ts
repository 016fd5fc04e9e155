/**
 * A streaming reader of multipart/related bodies (RFC 2387, RFC 2046 §5.1) for STOW-RS.
 * Part bodies are handed to a sink chunk by chunk as they arrive, with back-pressure, so
 * a multi-gigabyte upload never sits in memory.
 */
import { AppError } from '../../platform/errors.ts';

/** Receives one part. */
export interface PartSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

/** Parsed `Content-Type` header: media type (lower case) and parameters. */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Parses a Content-Type value such as `multipart/related; type="application/dicom"; boundary=xyz`. */
export function parseMediaType(value: string | undefined): MediaType {
  const [head = '', ...rest] = (value ?? '').split(';');
  const params: Record<string, string> = {};
  const re = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/y;
  const tail = rest.join(';');
  // Split parameters respecting quoted strings.
  let pos = 0;
  while (pos < tail.length) {
    re.lastIndex = pos;
    const m = re.exec(tail);
    if (!m) break;
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[m[1]!.toLowerCase()] = v;
    pos = re.lastIndex;
    while (pos < tail.length && (tail[pos] === ';' || tail[pos] === ' ')) pos++;
  }
  return { type: head.trim().toLowerCase(), params };
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Reads a multipart body, calling `onPart` for each part with its headers; the returned
 * sink receives the part's body.
 * @throws AppError bad_request when the body is not well-formed multipart
 */
export async function readMultipart(
  body: AsyncIterable<Buffer>,
  boundary: string,
  onPart: (headers: Record<string, string>) => Promise<PartSink>,
): Promise<number> {
  if (!boundary || boundary.length > 70) throw new AppError('bad_request', 'multipart boundary missing or longer than 70 characters');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  // A leading CRLF lets the first boundary match the same delimiter as the others.
  let buf: Buffer = Buffer.from(CRLF);
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'epilogue' = 'preamble';
  let sink: PartSink | undefined;
  let parts = 0;

  const step = async (final: boolean): Promise<void> => {
    for (;;) {
      if (state === 'preamble') {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          buf = buf.subarray(Math.max(0, buf.length - delimiter.length));
          return;
        }
        buf = buf.subarray(i + delimiter.length);
        state = 'after-delimiter';
      } else if (state === 'after-delimiter') {
        if (buf.length < 2) return;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'epilogue';
          buf = Buffer.alloc(0);
          return;
        }
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 256) throw new AppError('bad_request', 'malformed multipart boundary line');
          return;
        }
        if (buf.subarray(0, eol).toString('latin1').trim() !== '') throw new AppError('bad_request', 'malformed multipart boundary line');
        buf = buf.subarray(eol + 2);
        state = 'headers';
      } else if (state === 'headers') {
        // A part with no headers starts directly with CRLF.
        let end: number;
        let headerText: string;
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          end = 2;
          headerText = '';
        } else {
          const i = buf.indexOf(HEADER_END);
          if (i < 0) {
            if (buf.length > MAX_HEADER_BYTES) throw new AppError('bad_request', 'multipart part headers too long');
            return;
          }
          end = i + 4;
          headerText = buf.subarray(0, i).toString('latin1');
        }
        const headers: Record<string, string> = {};
        for (const line of headerText.split(/\r\n(?![ \t])/)) {
          if (!line) continue;
          const c = line.indexOf(':');
          if (c <= 0) throw new AppError('bad_request', 'malformed multipart part header');
          headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).replace(/\r\n[ \t]+/g, ' ').trim();
        }
        buf = buf.subarray(end);
        sink = await onPart(headers);
        parts++;
        state = 'body';
      } else if (state === 'body') {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          // Keep a tail that could be the start of a delimiter split across chunks.
          const safe = buf.length - (delimiter.length - 1);
          if (safe > 0) {
            await sink!.write(buf.subarray(0, safe));
            buf = buf.subarray(safe);
          }
          if (final) throw new AppError('bad_request', 'multipart body ended before its closing boundary');
          return;
        }
        if (i > 0) await sink!.write(buf.subarray(0, i));
        await sink!.end();
        sink = undefined;
        buf = buf.subarray(i + delimiter.length);
        state = 'after-delimiter';
      } else {
        buf = Buffer.alloc(0);
        return;
      }
    }
  };

  for await (const chunk of body) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    await step(false);
  }
  await step(true);
  if ((state as string) !== 'epilogue') throw new AppError('bad_request', 'multipart body ended before its closing boundary');
  return parts;
}
