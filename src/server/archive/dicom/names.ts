/**
 * Normalisation of person names for searching: NFKC (half-width katakana becomes
 * full-width), katakana folded to hiragana, Latin letters lower-cased, so that
 * ﾔﾏﾀﾞ, ヤマダ, やまだ and YAMADA each find the same patient through their group.
 */

/** Normalises one string for name search. */
export function normaliseForSearch(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u30a1-\u30f6]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x60))
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** The searchable text of a person name: its three groups, normalised, one per line. */
export function nameSearchText(pn: { alphabetic: string; ideographic: string; phonetic: string }): string {
  return [pn.alphabetic, pn.ideographic, pn.phonetic].map(normaliseForSearch).join('\n');
}
