/**
 * The Japanese fonts of report PDFs: Noto Sans JP (SIL Open Font License 1.1, which allows
 * embedding), TrueType outlines, from the `@expo-google-fonts/noto-sans-jp` npm package, so
 * that `npm ci` alone provides them: no system font package is needed at run time. The
 * renderer embeds a subset of each font (only the glyphs used) with a ToUnicode map, so the
 * PDF shows the same on every viewer and its text can be searched and extracted.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The font files, by weight. */
const FILES = {
  regular: '@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf',
  bold: '@expo-google-fonts/noto-sans-jp/700Bold/NotoSansJP_700Bold.ttf',
} as const;

/** A font weight used in reports. */
export type ReportFontWeight = keyof typeof FILES;

const loaded = new Map<ReportFontWeight, Buffer>();

/**
 * The bytes of a report font, read once per process (each file is about 5 MB; documents
 * share the buffer and subset from it).
 */
export function reportFont(weight: ReportFontWeight): Buffer {
  let bytes = loaded.get(weight);
  if (!bytes) {
    const file = require.resolve(FILES[weight]);
    bytes = fs.readFileSync(file);
    loaded.set(weight, bytes);
  }
  return bytes;
}
