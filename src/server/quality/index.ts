/**
 * Quality module: monitor quality control of reading terminals (JESRA X-0093, AAPM TG18)
 * and the DICOM PS3.14 GSDF calibration used by server rendering.
 */
export * from './gsdf.ts';
export * from './jesra.ts';
export * from './patterns.ts';
