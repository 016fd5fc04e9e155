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

/**
 * The name keys of a patient: the searchable text from its start and from every component
 * start (after a group's new line or a component's `^`) to its end. A fuzzy search for a
 * text (some component starts with it, PS3.18 fuzzy person-name matching) is then a
 * prefix search over these keys, which an ordinary index answers from the index alone.
 * @param nameSearch the searchable text of {@link nameSearchText}
 */
export function nameSearchKeys(nameSearch: string): string[] {
  const keys = new Set<string>([nameSearch]);
  for (let i = 0; i < nameSearch.length; i++) {
    const ch = nameSearch[i];
    if (ch === '\n' || ch === '^') keys.add(nameSearch.slice(i + 1));
  }
  keys.delete('');
  return [...keys];
}
