import { createTheme } from '@mantine/core';

/** Japanese-first font stack: the terminal's own Japanese fonts, no web fonts to download. */
const fontFamily = [
  'system-ui',
  '-apple-system',
  '"Segoe UI"',
  '"Hiragino Sans"',
  '"Hiragino Kaku Gothic ProN"',
  '"Noto Sans JP"',
  '"Noto Sans CJK JP"',
  '"Yu Gothic UI"',
  'Meiryo',
  'sans-serif',
].join(', ');

export const theme = createTheme({
  primaryColor: 'indigo',
  fontFamily,
  headings: { fontFamily, fontWeight: '700' },
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono CJK JP", monospace',
  defaultRadius: 'sm',
  // Keyboard users always see where focus is.
  focusRing: 'auto',
});
