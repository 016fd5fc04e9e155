/**
 * The report templates Enkaku starts with (W7): one per common modality and body part, in
 * the section structure of a Japanese radiology report, each with the macros readers use
 * most. Administrators add their own; these are only inserted into an empty table.
 */
import type { ReportSections } from './document.ts';

/** A template before it is stored. */
export interface TemplateSeed {
  id: string;
  name: string;
  modality: string;
  bodyPart: string;
  sections: ReportSections;
  macros: Array<{ key: string; text: string }>;
}

const COMMON_MACROS = [
  { key: 'nc', text: '前回と比較して著変なし。' },
  { key: 'nf', text: '明らかな異常所見を認めない。' },
  { key: 'fu', text: '経過観察を推奨します。' },
];

/** The built-in templates. */
export const DEFAULT_TEMPLATES: TemplateSeed[] = [
  {
    id: 'tpl-ct-chest',
    name: '胸部CT',
    modality: 'CT',
    bodyPart: 'CHEST',
    sections: {
      clinicalInformation: '',
      technique: '胸部単純CT。',
      comparison: '比較対象なし。',
      findings: '肺野:\n縦隔・肺門:\n胸膜・胸水:\n骨・軟部:\n',
      impression: '',
    },
    macros: [
      ...COMMON_MACROS,
      { key: 'lnn', text: '縦隔・肺門リンパ節の有意な腫大を認めない。' },
      { key: 'pe', text: '胸水を認めない。' },
    ],
  },
  {
    id: 'tpl-ct-head',
    name: '頭部CT',
    modality: 'CT',
    bodyPart: 'HEAD',
    sections: {
      clinicalInformation: '',
      technique: '頭部単純CT。',
      comparison: '比較対象なし。',
      findings: '脳実質:\n脳室・脳槽:\n頭蓋骨:\n',
      impression: '',
    },
    macros: [...COMMON_MACROS, { key: 'ich', text: '頭蓋内出血を認めない。' }, { key: 'ms', text: '正中偏位を認めない。' }],
  },
  {
    id: 'tpl-ct-abdomen',
    name: '腹部CT',
    modality: 'CT',
    bodyPart: 'ABDOMEN',
    sections: {
      clinicalInformation: '',
      technique: '腹部骨盤CT。',
      comparison: '比較対象なし。',
      findings: '肝:\n胆・膵:\n脾:\n腎・副腎:\n消化管:\nリンパ節:\n',
      impression: '',
    },
    macros: [...COMMON_MACROS, { key: 'asc', text: '腹水を認めない。' }, { key: 'fa', text: '遊離ガスを認めない。' }],
  },
  {
    id: 'tpl-mr-head',
    name: '頭部MRI',
    modality: 'MR',
    bodyPart: 'HEAD',
    sections: {
      clinicalInformation: '',
      technique: '頭部MRI(T1WI, T2WI, FLAIR, DWI, MRA)。',
      comparison: '比較対象なし。',
      findings: '脳実質:\nDWI:\n脳室:\nMRA:\n',
      impression: '',
    },
    macros: [...COMMON_MACROS, { key: 'dwi', text: 'DWIで新鮮梗塞を示唆する高信号を認めない。' }],
  },
  {
    id: 'tpl-cr-chest',
    name: '胸部単純X線',
    modality: 'CR',
    bodyPart: 'CHEST',
    sections: {
      clinicalInformation: '',
      technique: '胸部単純X線写真(正面)。',
      comparison: '比較対象なし。',
      findings: '',
      impression: '',
    },
    macros: [...COMMON_MACROS, { key: 'ctr', text: '心胸郭比は正常範囲。' }],
  },
  {
    id: 'tpl-generic',
    name: '汎用',
    modality: '',
    bodyPart: '',
    sections: { clinicalInformation: '', technique: '', comparison: '', findings: '', impression: '' },
    macros: COMMON_MACROS,
  },
];
