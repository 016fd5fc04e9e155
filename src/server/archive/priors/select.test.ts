/**
 * Which priors are asked for and kept: the date range in Japan's calendar, the C-FIND
 * identifier, and the checks applied again to the PACS's answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateOf, modalitiesOfSeries, selectPriors, studyFindIdentifier, tokyoToday, yearsBefore, type PriorCandidate, type PriorCriteria } from './select.ts';

const criteria: PriorCriteria = { currentStudyUid: '1.2.9', patientId: '00012345', issuer: 'ENKAKU', from: '20210401', to: '20260401', modalities: ['CT'], maxStudies: 2 };
const p = (uid: string, date: string, modalities: string[], extra: Partial<PriorCandidate> = {}): PriorCandidate => ({
  studyUid: uid,
  studyDate: date,
  studyTime: '120000',
  modalities,
  patientId: '00012345',
  issuer: 'ENKAKU',
  ...extra,
});

test('today is the date in Tokyo, and years back keep the calendar day', () => {
  assert.equal(tokyoToday(new Date('2026-03-31T15:30:00Z')), '20260401', '00:30 in Tokyo is already the next day');
  assert.equal(tokyoToday(new Date('2026-03-31T14:30:00Z')), '20260331');
  assert.equal(yearsBefore('20260401', 5), '20210401');
  assert.equal(yearsBefore('20240229', 1), '20230228', '29 February of a leap year');
  assert.equal(yearsBefore('20240229', 4), '20200229');
  assert.equal(yearsBefore('20260401', 0), '20260401');
});

test('the study-level identifier asks by patient, issuer, date range and a single modality', () => {
  assert.deepEqual(studyFindIdentifier(criteria), {
    QueryRetrieveLevel: 'STUDY',
    PatientID: '00012345',
    IssuerOfPatientID: 'ENKAKU',
    StudyDate: '20210401-20260401',
    StudyTime: '',
    StudyInstanceUID: '',
    ModalitiesInStudy: 'CT',
  });
  const several = studyFindIdentifier({ ...criteria, issuer: '', modalities: ['CT', 'MR'] });
  assert.equal(several.ModalitiesInStudy, '', 'several modalities: all are asked for and filtered here');
  assert.equal('IssuerOfPatientID' in several, false);
});

test('answers are read whatever form the values take', () => {
  assert.deepEqual(candidateOf({ StudyInstanceUID: '1.2.3', StudyDate: '20250101', ModalitiesInStudy: ['CT', 'sr'], PatientID: ' 00012345 ' }), {
    studyUid: '1.2.3',
    studyDate: '20250101',
    studyTime: '',
    modalities: ['CT', 'SR'],
    patientId: '00012345',
    issuer: '',
  });
  assert.deepEqual(candidateOf({ StudyInstanceUID: '1.2.3', ModalitiesInStudy: 'CT\\MR' })?.modalities, ['CT', 'MR']);
  assert.equal(candidateOf({ StudyInstanceUID: 'not-a-uid' }), undefined);
  assert.equal(candidateOf({}), undefined);
  assert.deepEqual(modalitiesOfSeries([{ Modality: 'CT' }, { Modality: 'SR' }, { Modality: 'CT' }]), ['CT', 'SR']);
});

test('only the patient\'s priors within the range and modalities are kept, newest first, at most maxStudies', () => {
  const { found, wanted } = selectPriors(
    [
      p('1.2.1', '20230101', ['CT']),
      p('1.2.2', '20250601', ['CT', 'SR']),
      p('1.2.3', '20240101', ['MR']), // other modality
      p('1.2.4', '20200101', ['CT']), // too old
      p('1.2.5', '20240101', ['CT'], { patientId: '99999999' }), // other patient (a PACS matching loosely)
      p('1.2.6', '20240101', ['CT'], { issuer: 'OTHER' }), // same number, other issuer
      p('1.2.7', '', ['CT']), // no date: cannot be shown to be within the range
      p('1.2.9', '20260401', ['CT']), // the current study
      p('1.2.8', '20240301', ['CT'], { issuer: '' }), // PACS without issuers
      p('1.2.2', '20250601', ['CT']), // the same study answered twice
    ],
    criteria,
  );
  assert.deepEqual(found.map((f) => f.studyUid), ['1.2.2', '1.2.8', '1.2.1']);
  assert.deepEqual(wanted.map((f) => f.studyUid), ['1.2.2', '1.2.8']);
  assert.equal(selectPriors([p('1.2.3', '20240101', ['MR'])], { ...criteria, modalities: [] }).found.length, 1, 'no modality filter: all');
});
