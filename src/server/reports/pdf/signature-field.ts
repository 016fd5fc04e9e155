/**
 * The empty signature field of a report PDF (ISO 32000-1 §12.8.1, ETSI EN 319 142-1 PAdES
 * baseline): a signature dictionary with SubFilter `ETSI.CAdES.detached`, a `/Contents`
 * placeholder of zeros and a `/ByteRange` placeholder of fixed width, referenced from an
 * invisible widget on the last page and from the AcroForm (SigFlags 3: signatures exist,
 * append only). The signer (signing/pades.ts) finds both placeholders in the finished file,
 * writes the real byte range in place and the CMS signature into `/Contents`; no offset
 * moves, so the cross-reference table stays right.
 */
import type PDFDocument from 'pdfkit';

/** What the signature field says, and the room reserved for the CMS signature. */
export interface PdfSignatureField {
  /** Signer's name (`/Name`), the physician's display name. */
  name: string;
  /** `/Reason`, e.g. 読影報告書の確定. */
  reason: string;
  /** `/Location`, e.g. the reading provider. */
  location: string;
  /** `/M`: the claimed signing time (PAdES puts it here, not in the CMS signed attributes). */
  signingTime: Date;
  /** Bytes reserved for the DER signature (`/Contents` holds twice as many hex digits). */
  contentsBytes: number;
  /** The signing certificate as printed on the report. */
  certificate: { subject: string; serial: string; issuer: string };
}

/**
 * The `/ByteRange` placeholder as written: four ten-digit numbers, so the real values
 * (written left-aligned, padded with spaces) always fit in the same bytes.
 */
export const BYTE_RANGE_PLACEHOLDER = '/ByteRange [0 9999999999 9999999999 9999999999]';
const WIDE = 9_999_999_999;

type Pdf = InstanceType<typeof PDFDocument>;

/**
 * Adds the signature dictionary, widget and AcroForm to a PDFKit document that has all its
 * pages, before `end()`.
 */
export function addSignatureField(pdf: Pdf, field: PdfSignatureField): void {
  if (!Number.isInteger(field.contentsBytes) || field.contentsBytes < 1024) throw new Error('signature placeholder too small');
  const signature = pdf.ref({
    Type: 'Sig',
    Filter: 'Adobe.PPKLite',
    SubFilter: 'ETSI.CAdES.detached',
    ByteRange: [0, WIDE, WIDE, WIDE],
    Contents: Buffer.alloc(field.contentsBytes),
    Name: new String(field.name),
    Reason: new String(field.reason),
    Location: new String(field.location),
    M: field.signingTime,
  });
  signature.end(undefined);
  const range = pdf.bufferedPageRange();
  const page = pdf.switchToPage(range.start + range.count - 1);
  const widget = pdf.ref({
    Type: 'Annot',
    Subtype: 'Widget',
    FT: 'Sig',
    // Invisible (zero-size rectangle): the signature's details are printed on the page.
    Rect: [0, 0, 0, 0],
    F: 132, // Print + Locked
    T: new String('読影医署名'),
    V: signature,
    P: page.dictionary,
  });
  widget.end(undefined);
  page.annotations.push(widget);
  // PDFKit's own AcroForm (it ends the form object itself when the document ends), made a
  // signature-only form: no field appearances to regenerate, SigFlags 3.
  pdf.font('regular').initForm();
  const form = (pdf as unknown as { _root: { data: { AcroForm: { data: Record<string, unknown> } } } })._root.data.AcroForm.data;
  delete form.NeedAppearances;
  delete form.DA;
  form.Fields = [widget];
  form.SigFlags = 3;
}
