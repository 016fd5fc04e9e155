import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needTools } from '../../../../test/helpers.ts';
import { sampleReportDocument } from '../test-document.ts';
import { ageOn, dicomDate, personName, tokyoDateTime } from './format.ts';
import { renderReportPdf } from './render.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enkaku-pdf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** A correction with AI findings, a communication, a transcriptionist and long findings. */
function fullDocument() {
  const base = sampleReportDocument();
  return sampleReportDocument({
    kind: 'correction',
    version: 2,
    reason: '結節の部位を右上葉S2に訂正',
    transcribedBy: { userId: 'u-t', displayName: '田中 由美' },
    otherReaders: [{ userId: 'u-2', displayName: '高橋 三郎', role: 'second-reader' }],
    aiFindings: [{ source: 'LungNodule-AI v2', text: '右上葉に結節候補 (確信度 0.92)' }],
    communications: [{ category: 'critical', message: '肺癌疑いの結節につき主治医へ電話連絡', recipient: '佐藤 花子 医師', channel: '電話', at: '2026-11-20T03:20:00.000Z', acknowledgedAt: '2026-11-20T03:25:00.000Z' }],
    sections: {
      ...base.sections,
      // Long enough for several pages, full of characters kinsoku keeps off a line start.
      findings: Array.from({ length: 60 }, (_, i) => `所見${i + 1}。右上葉S2に径12mmの充実性結節（スピキュラを伴う）を認め、前回より増大しています。縦隔・肺門リンパ節の腫大はありません、胸水もありません。`).join('\n'),
    },
  });
}

describe('report PDF', () => {
  it('formats names, dates and ages for Japanese readers', () => {
    assert.equal(personName('山田^太郎'), '山田 太郎');
    assert.equal(personName('Yamada^Taro^^Dr'), 'Yamada Taro Dr');
    assert.equal(dicomDate('19560412'), '1956年4月12日');
    assert.equal(tokyoDateTime('2026-11-20T15:30:00Z'), '2026/11/21 00:30 (JST)');
    assert.equal(ageOn('19560412', '20261120'), 70);
    assert.equal(ageOn('19561121', '20261120'), 69);
  });

  it('is A4 with the Japanese fonts embedded as subsets', async (t) => {
    const file = path.join(dir, 'report.pdf');
    fs.writeFileSync(file, await renderReportPdf(fullDocument()));
    if (!needTools(t, ['pdffonts', 'pdfinfo'], 'apt-get install poppler-utils')) return;
    const info = tool('pdfinfo', [file]);
    assert.match(info, /Page size:\s+595\.28 x 841\.89 pts \(A4\)/);
    assert.match(info, /PDF version:\s+1\.7/);
    const fonts = tool('pdffonts', [file]).trim().split('\n').slice(2);
    assert.ok(fonts.length >= 2, 'regular and bold');
    for (const line of fonts) {
      assert.match(line, /\+NotoSansJP-(Regular|Bold)\s+CID TrueType\s+Identity-H\s+yes yes yes/, line);
    }
  });

  it('carries every part of the report as extractable Japanese text, with page numbers', async (t) => {
    const doc = fullDocument();
    const file = path.join(dir, 'text.pdf');
    fs.writeFileSync(file, await renderReportPdf(doc));
    if (!needTools(t, ['pdftotext'], 'apt-get install poppler-utils')) return;
    const text = tool('pdftotext', ['-enc', 'UTF-8', file, '-']);
    for (const expected of [
      '画像診断報告書',
      '山田記念病院',
      '山田 太郎',
      'ヤマダ タロウ',
      'Yamada Taro',
      '00012345 (YAMADA-HOSP)',
      '男性',
      '1956年4月12日 (検査時 70歳)',
      '2026年11月20日 10:15',
      '胸部CT 単純',
      'A2026112000001',
      '呼吸器内科 / 佐藤 花子',
      '依頼者 P-778812 / 実施者 F-778812',
      '訂正報告 (第2版)',
      '訂正の理由: 結節の部位を右上葉S2に訂正',
      '臨床情報',
      '検査方法',
      '比較',
      '所見',
      '診断',
      '原発性肺癌を疑う。',
      'キー画像',
      '右上葉結節',
      'AI解析結果 (AIによる出力)',
      '[AI出力]',
      'LungNodule-AI v2: 右上葉に結節候補',
      '緊急連絡 (重大所見)',
      '受領確認 2026/11/20 12:25 (JST)',
      '鈴木 一郎 (医籍登録番号 123456 / 放射線診断専門医)',
      '二次読影医',
      '田中 由美',
      '自宅 (遠隔読影)',
      '2026/11/20 12:00 (JST)',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}`);
    }
    const pages = Number(/Pages:\s+(\d+)/.exec(tool('pdfinfo', [file]))?.[1]);
    assert.ok(pages >= 3, `${pages} pages`);
    for (let i = 1; i <= pages; i++) assert.match(text, new RegExp(`(^|\\s)${i}\\s*/\\s*${pages}(\\s|$)`), `page number ${i} / ${pages}`);
    // The patient is named on every page after the first (loose pages stay attributable).
    assert.equal(text.match(/画像診断報告書\s+患者ID 00012345\s+山田 太郎/g)?.length, pages - 1);
  });

  it('renders a report without order, key images or known sex', async (t) => {
    const file = path.join(dir, 'minimal.pdf');
    const base = sampleReportDocument();
    fs.writeFileSync(file, await renderReportPdf(sampleReportDocument({ order: null, keyImages: [], patient: { ...base.patient, sex: '', birthDate: '' } })));
    if (!needTools(t, ['pdftotext'], 'apt-get install poppler-utils')) return;
    const text = tool('pdftotext', ['-enc', 'UTF-8', file, '-']);
    assert.ok(text.includes('依頼オーダなし'));
    assert.ok(text.includes('不明'));
    assert.ok(text.includes('確定報告 (第1版)'));
    assert.ok(!text.includes('キー画像'));
  });

  it('wraps Japanese text without starting a line with closing punctuation or small kana (kinsoku)', async (t) => {
    const file = path.join(dir, 'kinsoku.pdf');
    fs.writeFileSync(file, await renderReportPdf(fullDocument()));
    if (!needTools(t, ['pdftotext'], 'apt-get install poppler-utils')) return;
    const lines = tool('pdftotext', ['-enc', 'UTF-8', '-layout', file, '-']).split('\n').map((l) => l.trim()).filter(Boolean);
    const wrapped = lines.filter((l) => /右上葉S2|縦隔|前回より|スピキュラ|ありません/.test(l));
    assert.ok(wrapped.length > 60, 'the findings wrap over many lines');
    for (const line of lines) assert.doesNotMatch(line, /^[、。，．）」』】ーッャュョァィゥェォっゃゅょ]/, line);
    for (const line of lines) assert.doesNotMatch(line, /[（「『【]$/, line);
  });
});
