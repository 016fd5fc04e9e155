/**
 * Report PDFs: the printed, signable form of a final report version (W7, A4).
 */
export { renderReportPdf, type RenderOptions } from './render.ts';
export { addSignatureField, BYTE_RANGE_PLACEHOLDER, type PdfSignatureField } from './signature-field.ts';
export { reportFont, type ReportFontWeight } from './fonts.ts';
