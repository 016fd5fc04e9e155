/**
 * SS-MIX2 standardized storage: its layout, the import of clinical context into the orders
 * module, and a synthetic tree for tests and benchmarks. Translates and calls the orders
 * services; owns no tables.
 */
export {
  DEFAULT_MAX_FILE_BYTES, formatSsmix2Summary, importSsmix2, ssmix2StatePath,
  type Ssmix2ImportDeps, type Ssmix2ImportOptions, type Ssmix2ImportSummary, type Ssmix2Problem,
} from './import.ts';
export {
  NO_ORDER_NUMBER, SSMIX2_DATA_TYPES, checkSsmix2Folders, formatSsmix2FileName, isImportedDataType, parseSsmix2FileName, ssmix2Folders,
  ssmix2KeyPrefix, ssmix2RelativePath,
  type Ssmix2Condition, type Ssmix2FileName,
} from './layout.ts';
export {
  SSMIX2_CHARACTER_SET, egfrCreat, runSyntheticSsmix2Cli, syntheticSsmix2, updateSyntheticSsmix2, writeSyntheticSsmix2,
  type SyntheticSsmix2, type SyntheticSsmix2File, type SyntheticSsmix2Options, type SyntheticSsmix2Patient, type SyntheticSsmix2Update,
} from './synthetic.ts';
