/**
 * Keywords of the attributes a reader most often looks up (PS3.6). Tags that are not
 * listed are shown by number alone; private tags are marked as such.
 */
const KEYWORDS: Record<string, string> = {
  '00080005': 'SpecificCharacterSet', '00080008': 'ImageType', '00080012': 'InstanceCreationDate', '00080013': 'InstanceCreationTime',
  '00080016': 'SOPClassUID', '00080018': 'SOPInstanceUID', '00080020': 'StudyDate', '00080021': 'SeriesDate', '00080022': 'AcquisitionDate',
  '00080023': 'ContentDate', '00080030': 'StudyTime', '00080031': 'SeriesTime', '00080032': 'AcquisitionTime', '00080033': 'ContentTime',
  '00080050': 'AccessionNumber', '00080060': 'Modality', '00080064': 'ConversionType', '00080070': 'Manufacturer', '00080080': 'InstitutionName',
  '00080081': 'InstitutionAddress', '00080090': 'ReferringPhysicianName', '00081010': 'StationName', '00081030': 'StudyDescription',
  '0008103E': 'SeriesDescription', '00081040': 'InstitutionalDepartmentName', '00081050': 'PerformingPhysicianName', '00081060': 'NameOfPhysiciansReadingStudy',
  '00081070': 'OperatorsName', '00081090': 'ManufacturerModelName', '00082111': 'DerivationDescription', '00082112': 'SourceImageSequence',
  '00100010': 'PatientName', '00100020': 'PatientID', '00100021': 'IssuerOfPatientID', '00100030': 'PatientBirthDate', '00100040': 'PatientSex',
  '00101010': 'PatientAge', '00101020': 'PatientSize', '00101030': 'PatientWeight', '00104000': 'PatientComments',
  '00180010': 'ContrastBolusAgent', '00180015': 'BodyPartExamined', '00180020': 'ScanningSequence', '00180021': 'SequenceVariant',
  '00180022': 'ScanOptions', '00180023': 'MRAcquisitionType', '00180050': 'SliceThickness', '00180060': 'KVP', '00180080': 'RepetitionTime',
  '00180081': 'EchoTime', '00180082': 'InversionTime', '00180083': 'NumberOfAverages', '00180087': 'MagneticFieldStrength',
  '00180088': 'SpacingBetweenSlices', '00180090': 'DataCollectionDiameter', '00181000': 'DeviceSerialNumber', '00181020': 'SoftwareVersions',
  '00181030': 'ProtocolName', '00181040': 'ContrastBolusRoute', '00181063': 'FrameTime', '00181100': 'ReconstructionDiameter',
  '00181110': 'DistanceSourceToDetector', '00181111': 'DistanceSourceToPatient', '00181120': 'GantryDetectorTilt', '00181130': 'TableHeight',
  '00181140': 'RotationDirection', '00181150': 'ExposureTime', '00181151': 'XRayTubeCurrent', '00181152': 'Exposure', '00181160': 'FilterType',
  '00181164': 'ImagerPixelSpacing', '00181170': 'GeneratorPower', '00181190': 'FocalSpots', '00181210': 'ConvolutionKernel',
  '00181250': 'ReceiveCoilName', '00181314': 'FlipAngle', '00185100': 'PatientPosition', '00185101': 'ViewPosition',
  '0020000D': 'StudyInstanceUID', '0020000E': 'SeriesInstanceUID', '00200010': 'StudyID', '00200011': 'SeriesNumber', '00200012': 'AcquisitionNumber',
  '00200013': 'InstanceNumber', '00200020': 'PatientOrientation', '00200032': 'ImagePositionPatient', '00200037': 'ImageOrientationPatient',
  '00200052': 'FrameOfReferenceUID', '00201040': 'PositionReferenceIndicator', '00201041': 'SliceLocation', '00204000': 'ImageComments',
  '00280002': 'SamplesPerPixel', '00280004': 'PhotometricInterpretation', '00280006': 'PlanarConfiguration', '00280008': 'NumberOfFrames',
  '00280010': 'Rows', '00280011': 'Columns', '00280030': 'PixelSpacing', '00280034': 'PixelAspectRatio', '00280100': 'BitsAllocated',
  '00280101': 'BitsStored', '00280102': 'HighBit', '00280103': 'PixelRepresentation', '00280106': 'SmallestImagePixelValue',
  '00280107': 'LargestImagePixelValue', '00280120': 'PixelPaddingValue', '00281050': 'WindowCenter', '00281051': 'WindowWidth',
  '00281052': 'RescaleIntercept', '00281053': 'RescaleSlope', '00281054': 'RescaleType', '00281055': 'WindowCenterWidthExplanation',
  '00282110': 'LossyImageCompression', '00282112': 'LossyImageCompressionRatio', '00282114': 'LossyImageCompressionMethod',
  '00283010': 'VOILUTSequence', '00283000': 'ModalityLUTSequence', '00321060': 'RequestedProcedureDescription',
  '00400244': 'PerformedProcedureStepStartDate', '00400245': 'PerformedProcedureStepStartTime', '00400253': 'PerformedProcedureStepID',
  '00400254': 'PerformedProcedureStepDescription', '00400275': 'RequestAttributesSequence', '00401001': 'RequestedProcedureID',
  '52009229': 'SharedFunctionalGroupsSequence', '52009230': 'PerFrameFunctionalGroupsSequence', '7FE00010': 'PixelData',
};

/** `(0010,0010)` from `00100010`. */
export function formatTag(tag: string): string {
  const t = tag.toUpperCase();
  return `(${t.slice(0, 4)},${t.slice(4, 8)})`;
}

/** The keyword of a tag, or undefined (private tags: odd group). */
export function keywordOf(tag: string): string | undefined {
  return KEYWORDS[tag.toUpperCase()];
}

/** Whether a tag is private (odd group number, PS3.5 §7.8). */
export function isPrivate(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
}
