/**
 * The printed form of a final report version (W7: the signed PDF that goes back to the
 * requesting facility): an A4 PDF in Japanese with every part of the {@link ReportDocument},
 * fonts embedded as subsets (pdf/fonts.ts), a header naming the patient on every page (so a
 * loose page is never mistaken for another patient's) and page numbers `n / N`.
 *
 * Text is laid out by PDFKit, whose line breaking follows Unicode UAX #14: Japanese text
 * breaks between characters, but never before 。、 」 ） ー or small kana, nor after 「 （ —
 * the usual kinsoku shori (JIS X 4051 §9, 行頭禁則・行末禁則).
 */
import PDFDocument from 'pdfkit';
import { SECTION_KEYS, type ReportDocument, type ReportSections } from '../document.ts';
import { reportFont } from './fonts.ts';
import {
  ageOn,
  communicationLabel,
  dicomDate,
  dicomTime,
  locationLabel,
  otherReaderLabel,
  personName,
  priorityLabel,
  reasonLabel,
  sexLabel,
  tokyoDateTime,
  versionLabel,
} from './format.ts';
import { addSignatureField, type PdfSignatureField } from './signature-field.ts';

/** Options of {@link renderReportPdf}. */
export interface RenderOptions {
  /**
   * The signature the PDF will carry: its details are printed at the end, and an empty
   * signature field (`/Contents` and `/ByteRange` placeholders) is added for the signer to
   * fill (signing/pades.ts). Without it the PDF is rendered unsigned (previews).
   */
  signature?: PdfSignatureField | undefined;
}

/** Section headings in report order (JRS report structure). */
const SECTION_TITLES: Record<keyof ReportSections, string> = {
  clinicalInformation: '臨床情報',
  technique: '検査方法',
  comparison: '比較',
  findings: '所見',
  impression: '診断',
};

const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = { top: 70, bottom: 60, left: 50, right: 50 };
const WIDTH = PAGE.width - MARGIN.left - MARGIN.right;
const LABEL_WIDTH = 92;
const INK = '#111111';
const MUTED = '#555555';
const RULE = '#999999';

type Pdf = InstanceType<typeof PDFDocument>;

/** Line ends as `\n`, tabs as spaces, other control characters dropped: PDF text shows no control codes. */
function clean(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '    ')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
}

/** The flow of the page body: headings, label-value rows and paragraphs, with page breaks. */
class Flow {
  constructor(private readonly pdf: Pdf) {}

  private get bottom(): number {
    return PAGE.height - MARGIN.bottom;
  }

  /** Starts a new page when less than `height` points are left. */
  keep(height: number): void {
    if (this.pdf.y + height > this.bottom) this.pdf.addPage();
  }

  gap(points: number): void {
    this.pdf.y += points;
  }

  heading(title: string): void {
    this.keep(48);
    this.gap(6);
    const y = this.pdf.y;
    this.pdf.font('bold').fontSize(11.5).fillColor(INK).text(title, MARGIN.left, y, { width: WIDTH });
    const lineY = this.pdf.y + 1;
    this.pdf.moveTo(MARGIN.left, lineY).lineTo(MARGIN.left + WIDTH, lineY).lineWidth(0.6).strokeColor(RULE).stroke();
    this.pdf.y = lineY + 4;
  }

  /** A label and its value side by side; the value wraps within its column. */
  field(label: string, value: string): void {
    const text = clean(value) || '—';
    this.pdf.font('regular').fontSize(10);
    this.keep(Math.min(this.pdf.heightOfString(text, { width: WIDTH - LABEL_WIDTH, lineGap: 1.5 }) + 2, 200));
    const y = this.pdf.y;
    const page = this.pageIndex();
    this.pdf.font('bold').fontSize(9).fillColor(MUTED).text(label, MARGIN.left, y + 0.8, { width: LABEL_WIDTH - 6 });
    const labelBottom = this.pdf.y;
    this.pdf.font('regular').fontSize(10).fillColor(INK).text(text, MARGIN.left + LABEL_WIDTH, y, { width: WIDTH - LABEL_WIDTH, lineGap: 1.5 });
    if (this.pageIndex() === page) this.pdf.y = Math.max(this.pdf.y, labelBottom);
    this.gap(2);
  }

  /** Running text (a report section): wraps and flows onto the next pages. */
  paragraph(text: string, opts: { size?: number; color?: string } = {}): void {
    this.keep(18);
    const body = clean(text).trim();
    this.pdf
      .font('regular')
      .fontSize(opts.size ?? 10.5)
      .fillColor(body ? (opts.color ?? INK) : MUTED)
      .text(body || '記載なし', MARGIN.left, this.pdf.y, { width: WIDTH, lineGap: 3.5, paragraphGap: 3 });
  }

  /** A note in small muted type. */
  note(text: string): void {
    this.pdf.font('regular').fontSize(8.5);
    this.keep(Math.min(this.pdf.heightOfString(clean(text), { width: WIDTH, lineGap: 1.5 }), 200));
    this.pdf.fillColor(MUTED).text(clean(text), MARGIN.left, this.pdf.y, { width: WIDTH, lineGap: 1.5 });
  }

  private pageIndex(): number {
    const range = this.pdf.bufferedPageRange();
    return range.start + range.count - 1;
  }
}

function patientLine(doc: ReportDocument): string {
  const name = personName(doc.patient.name.ideographic) || personName(doc.patient.name.alphabetic);
  return `患者ID ${doc.patient.patientId}  ${name}`;
}

function title(pdf: Pdf, doc: ReportDocument): void {
  pdf.font('bold').fontSize(18).fillColor(INK).text('画像診断報告書', MARGIN.left, MARGIN.top - 8, { width: WIDTH });
  pdf.font('regular').fontSize(10.5).fillColor(INK).text(`依頼施設: ${doc.facility.name}`, { width: WIDTH });
  const y = MARGIN.top - 6;
  pdf
    .font('bold')
    .fontSize(11)
    .fillColor(doc.kind === 'final' ? INK : '#9a1b1b')
    .text(versionLabel(doc.kind, doc.version), MARGIN.left, y, { width: WIDTH, align: 'right' });
  pdf.font('regular').fontSize(8.5).fillColor(MUTED).text(`確定 ${tokyoDateTime(doc.finalisedAt)}`, MARGIN.left, pdf.y, { width: WIDTH, align: 'right' });
  pdf.y = Math.max(pdf.y, MARGIN.top + 36);
}

function versionNotice(flow: Flow, pdf: Pdf, doc: ReportDocument): void {
  if (doc.kind === 'final') return;
  flow.gap(4);
  const text =
    doc.kind === 'correction'
      ? `この報告書は第${doc.version - 1}版までの内容を訂正するものです。以前の版は変更されずに保存されています。`
      : `この報告書は第${doc.version - 1}版までの内容に追記するものです。以前の版は変更されずに保存されています。`;
  const top = pdf.y;
  pdf.font('bold').fontSize(10).fillColor('#9a1b1b').text(versionLabel(doc.kind, doc.version), MARGIN.left + 8, top + 6, { width: WIDTH - 16 });
  pdf.font('regular').fontSize(9.5).fillColor(INK).text(`${reasonLabel(doc.kind)}: ${clean(doc.reason) || '(記載なし)'}`, { width: WIDTH - 16, lineGap: 1.5 });
  pdf.font('regular').fontSize(8.5).fillColor(MUTED).text(text, { width: WIDTH - 16 });
  const bottom = pdf.y + 5;
  pdf.rect(MARGIN.left, top, WIDTH, bottom - top).lineWidth(0.8).strokeColor('#9a1b1b').stroke();
  pdf.y = bottom + 4;
}

function patientBlock(flow: Flow, doc: ReportDocument): void {
  const p = doc.patient;
  flow.heading('患者情報');
  flow.field('患者ID', p.issuer ? `${p.patientId} (${p.issuer})` : p.patientId);
  flow.field('氏名', personName(p.name.ideographic));
  flow.field('フリガナ', personName(p.name.phonetic));
  flow.field('ローマ字', personName(p.name.alphabetic));
  flow.field('性別', sexLabel(p.sex));
  const age = ageOn(p.birthDate, doc.study.studyDate);
  flow.field('生年月日', p.birthDate ? `${dicomDate(p.birthDate)}${age !== undefined ? ` (検査時 ${age}歳)` : ''}` : '');
}

function studyBlock(flow: Flow, doc: ReportDocument): void {
  const s = doc.study;
  flow.heading('検査情報');
  flow.field('検査日時', [dicomDate(s.studyDate), s.studyTime ? dicomTime(s.studyTime) : ''].filter(Boolean).join(' '));
  flow.field('モダリティ', s.modalities.join(', '));
  flow.field('検査内容', s.description);
  flow.field('受付番号', s.accessionNumber);
  flow.field('シリーズ / 画像', `${s.numSeries} シリーズ / ${s.numInstances} 画像`);
  flow.field('Study UID', s.studyUid);
}

function orderBlock(flow: Flow, doc: ReportDocument): void {
  flow.heading('依頼情報');
  const o = doc.order;
  if (!o) {
    flow.field('オーダ', '依頼オーダなし (検査のみ)');
    return;
  }
  flow.field('依頼科 / 依頼医', [o.requesterDepartment, personName(o.requesterName)].filter(Boolean).join(' / '));
  flow.field('依頼日時', tokyoDateTime(o.requestedAt));
  flow.field('依頼検査', o.procedureText);
  if (o.jj1017) flow.field('JJ1017コード', o.jj1017);
  flow.field('オーダ番号', [o.placerOrderNumber && `依頼者 ${o.placerOrderNumber}`, o.fillerOrderNumber && `実施者 ${o.fillerOrderNumber}`].filter(Boolean).join(' / '));
  flow.field('優先度', priorityLabel(o.priority));
}

function sectionsBlock(flow: Flow, doc: ReportDocument): void {
  for (const key of SECTION_KEYS) {
    flow.heading(SECTION_TITLES[key]);
    flow.paragraph(doc.sections[key]);
  }
}

function keyImagesBlock(flow: Flow, doc: ReportDocument): void {
  if (doc.keyImages.length === 0) return;
  flow.heading('キー画像');
  doc.keyImages.forEach((k, i) => {
    const series = doc.study.series.find((s) => s.seriesUid === k.seriesUid);
    const where = series ? `シリーズ ${series.number ?? '-'} ${series.description}`.trim() : `シリーズ ${k.seriesUid}`;
    flow.field(`${i + 1}.`, `${where} / フレーム ${k.frame}${k.note ? ` — ${k.note}` : ''}\nSOP Instance UID ${k.sopInstanceUid}`);
  });
}

function aiBlock(flow: Flow, doc: ReportDocument): void {
  if (doc.aiFindings.length === 0) return;
  flow.heading('AI解析結果 (AIによる出力)');
  flow.note('以下は AI (人工知能) プログラムの出力であり、読影医の診断ではありません。診断は上記「所見」「診断」欄によります。');
  for (const f of doc.aiFindings) flow.field('[AI出力]', `${f.source}: ${f.text}`);
}

function communicationsBlock(flow: Flow, doc: ReportDocument): void {
  if (doc.communications.length === 0) return;
  flow.heading('連絡記録');
  for (const c of doc.communications) {
    const ack = c.acknowledgedAt ? `受領確認 ${tokyoDateTime(c.acknowledgedAt)}` : '受領確認 未';
    flow.field(communicationLabel(c.category), `${c.message}\n連絡先 ${c.recipient} / 手段 ${c.channel}\n連絡 ${tokyoDateTime(c.at)} / ${ack}`);
  }
}

function readingBlock(flow: Flow, doc: ReportDocument): void {
  const r = doc.reader;
  flow.heading('読影');
  const qualification = [r.licenceNumber ? `医籍登録番号 ${r.licenceNumber}` : '', ...r.certifications].filter(Boolean).join(' / ');
  flow.field('読影医', qualification ? `${r.displayName} (${qualification})` : r.displayName);
  for (const o of doc.otherReaders) flow.field(otherReaderLabel(o.role), o.displayName);
  if (doc.transcribedBy) flow.field('代行入力者', `${doc.transcribedBy.displayName} (下書きを代行入力、読影医が確認のうえ確定)`);
  flow.field('読影場所', locationLabel(doc.reading.location));
  flow.field('読影開始', tokyoDateTime(doc.reading.startedAt) || '記録なし');
  flow.field('確定', tokyoDateTime(doc.reading.finalisedAt));
}

function signatureBlock(flow: Flow, sig: PdfSignatureField): void {
  flow.heading('電子署名');
  flow.field('署名者', sig.name);
  flow.field('署名証明書', `${sig.certificate.subject}\nシリアル番号 ${sig.certificate.serial} / 発行者 ${sig.certificate.issuer}`);
  flow.field('署名日時', tokyoDateTime(sig.signingTime.toISOString()));
  flow.note(
    'この PDF には読影医の電子署名 (PAdES) と RFC 3161 タイムスタンプが付与されています。PDF を 1 バイトでも変更すると署名の検証に失敗します。署名は Adobe Acrobat Reader の署名パネルや poppler の pdfsig で確認できます。',
  );
}

/** Header (patient, study) and footer (report, version, page n / N) on every page. */
function pageFurniture(pdf: Pdf, doc: ReportDocument): void {
  const range = pdf.bufferedPageRange();
  const header = `画像診断報告書  ${patientLine(doc)}  検査日 ${dicomDate(doc.study.studyDate)}  受付番号 ${doc.study.accessionNumber}`;
  const footer = `報告書ID ${doc.reportId}  ${versionLabel(doc.kind, doc.version)}  ${doc.facility.name}`;
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    // The body leaves these bands free; writing into the margins must not start a new page.
    const saved = pdf.page.margins;
    pdf.page.margins = { top: 0, bottom: 0, left: 0, right: 0 };
    if (i > range.start) {
      pdf.font('regular').fontSize(8).fillColor(MUTED).text(header, MARGIN.left, 34, { width: WIDTH, lineBreak: false, ellipsis: true });
      pdf.moveTo(MARGIN.left, 48).lineTo(MARGIN.left + WIDTH, 48).lineWidth(0.5).strokeColor(RULE).stroke();
    }
    const fy = PAGE.height - 40;
    pdf.moveTo(MARGIN.left, fy - 6).lineTo(MARGIN.left + WIDTH, fy - 6).lineWidth(0.5).strokeColor(RULE).stroke();
    pdf.font('regular').fontSize(8).fillColor(MUTED).text(footer, MARGIN.left, fy, { width: WIDTH - 70, lineBreak: false, ellipsis: true });
    pdf.text(`${i - range.start + 1} / ${range.count}`, MARGIN.left + WIDTH - 70, fy, { width: 70, align: 'right', lineBreak: false });
    pdf.page.margins = saved;
  }
}

/**
 * Renders a report version as an A4 PDF (PDF 1.7, Japanese, fonts embedded).
 * @param doc - the final report version
 * @param options - `signature`: add an empty signature field and print who signs
 * @returns the PDF bytes (with placeholders to fill when `signature` is given)
 */
export async function renderReportPdf(doc: ReportDocument, options: RenderOptions = {}): Promise<Buffer> {
  const finalised = new Date(doc.finalisedAt);
  const pdf = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: true,
    autoFirstPage: true,
    pdfVersion: '1.7',
    lang: 'ja-JP',
    displayTitle: true,
    // No default (Helvetica) font: every glyph comes from the embedded Japanese fonts.
    font: null as unknown as string,
    info: {
      Title: `画像診断報告書 ${doc.reportId} 第${doc.version}版`,
      Author: doc.reader.displayName,
      Subject: versionLabel(doc.kind, doc.version),
      Creator: 'Enkaku',
      Producer: 'Enkaku (PDFKit)',
      ...(Number.isNaN(finalised.getTime()) ? {} : { CreationDate: finalised, ModDate: finalised }),
    },
  });
  pdf.registerFont('regular', reportFont('regular'));
  pdf.registerFont('bold', reportFont('bold'));
  const chunks: Buffer[] = [];
  pdf.on('data', (c: Buffer) => chunks.push(c));
  const finished = new Promise<void>((resolve, reject) => {
    pdf.on('end', () => resolve());
    pdf.on('error', reject);
  });

  const flow = new Flow(pdf);
  title(pdf, doc);
  versionNotice(flow, pdf, doc);
  patientBlock(flow, doc);
  studyBlock(flow, doc);
  orderBlock(flow, doc);
  sectionsBlock(flow, doc);
  keyImagesBlock(flow, doc);
  aiBlock(flow, doc);
  communicationsBlock(flow, doc);
  readingBlock(flow, doc);
  if (options.signature) signatureBlock(flow, options.signature);
  pageFurniture(pdf, doc);
  if (options.signature) addSignatureField(pdf, options.signature);
  pdf.end();
  await finished;
  return Buffer.concat(chunks);
}
