/**
 * Writes the Part 10 file meta information (PS3.10 §7.1) that precedes a data set
 * received over DIMSE. The header is deterministic for a given SOP class, instance and
 * transfer syntax, so the same data set always yields the same file and digest.
 */
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from './uids.ts';

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = vr === 'OB';
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function uid(value: string): Buffer {
  const b = Buffer.from(value, 'latin1');
  return b.length % 2 ? Buffer.concat([b, Buffer.from([0])]) : b;
}

function text(value: string): Buffer {
  const b = Buffer.from(value, 'latin1');
  return b.length % 2 ? Buffer.concat([b, Buffer.from(' ')]) : b;
}

/**
 * Builds preamble, "DICM" and the file meta group for a data set.
 * @returns the bytes to write before the data set
 */
export function buildFileMeta(sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string): Buffer {
  const body = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', uid(sopClassUid)),
    element(0x0002, 0x0003, 'UI', uid(sopInstanceUid)),
    element(0x0002, 0x0010, 'UI', uid(transferSyntaxUid)),
    element(0x0002, 0x0012, 'UI', uid(IMPLEMENTATION_CLASS_UID)),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', groupLength), body]);
}
