/**
 * A report document for tests of the PDF, signing and delivery code: a Japanese CT report
 * with names in all three PN groups.
 */
import type { ReportDocument } from './document.ts';

/** A complete first final version; override any part. */
export function sampleReportDocument(over: Partial<ReportDocument> = {}): ReportDocument {
  return {
    reportId: 'rpt-0001',
    versionId: 'rv-0001-1',
    version: 1,
    kind: 'final',
    reason: '',
    finalisedAt: '2026-11-20T03:15:00.000Z',
    facility: { id: 'fac-1', name: '山田記念病院' },
    patient: {
      patientId: '00012345',
      issuer: 'YAMADA-HOSP',
      name: { alphabetic: 'Yamada^Taro', ideographic: '山田^太郎', phonetic: 'ヤマダ^タロウ' },
      sex: 'M',
      birthDate: '19560412',
    },
    study: {
      studyUid: '1.2.392.200036.9116.2.5.1.37.2418725938.1700000000.1',
      accessionNumber: 'A2026112000001',
      studyDate: '20261120',
      studyTime: '101500',
      modalities: ['CT'],
      description: '胸部CT 単純',
      numSeries: 2,
      numInstances: 300,
      series: [
        { seriesUid: '1.2.392.200036.9116.2.5.1.37.2418725938.1700000000.1.1', modality: 'CT', number: 1, description: 'Scout', numInstances: 2, bodyPart: 'CHEST' },
        { seriesUid: '1.2.392.200036.9116.2.5.1.37.2418725938.1700000000.1.2', modality: 'CT', number: 2, description: '肺野 1mm', numInstances: 298, bodyPart: 'CHEST' },
      ],
    },
    order: {
      placerOrderNumber: 'P-778812',
      fillerOrderNumber: 'F-778812',
      jj1017: '',
      procedureText: '胸部単純CT',
      priority: 'routine',
      requesterName: '佐藤^花子',
      requesterDepartment: '呼吸器内科',
      requestedAt: '2026-11-20T00:30:00.000Z',
    },
    sections: {
      clinicalInformation: '咳嗽が3週間続く。喫煙歴あり(20本/日×30年)。',
      technique: '胸部単純CT、1mm厚再構成。',
      comparison: '2025年11月18日の胸部CTと比較。',
      findings: '右上葉S2に径12mmの充実性結節を認める。前回より増大(8mm→12mm)。\n縦隔・肺門リンパ節の腫大なし。胸水なし。',
      impression: '右上葉結節、増大傾向。原発性肺癌を疑う。造影CTおよび呼吸器内科での精査を推奨。',
    },
    reader: { userId: 'u-reader', displayName: '鈴木 一郎', licenceNumber: '123456', certifications: ['放射線診断専門医'] },
    transcribedBy: null,
    otherReaders: [],
    keyImages: [{ sopInstanceUid: '1.2.392.200036.9116.2.5.1.37.2418725938.1700000000.1.2.150', seriesUid: '1.2.392.200036.9116.2.5.1.37.2418725938.1700000000.1.2', frame: 1, note: '右上葉結節' }],
    aiFindings: [],
    reading: { location: 'home', startedAt: '2026-11-20T03:00:00.000Z', finalisedAt: '2026-11-20T03:15:00.000Z' },
    communications: [],
    ...over,
  };
}
