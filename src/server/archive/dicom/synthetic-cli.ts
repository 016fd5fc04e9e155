/**
 * Writes a synthetic DICOM series to a folder (see synthetic.ts).
 *
 *   node --import tsx src/server/archive/dicom/synthetic-cli.ts --out <dir> [--modality CT] [--count 300]
 *     [--size 512] [--charset '\ISO 2022 IR 87'] [--ts <uid>] [--patient <index>] [--seed <n>]
 *     [--study-uid <uid>] [--series-number <n>]
 */
import { parseArgs } from 'node:util';
import {
  SAMPLE_PATIENTS,
  SYNTHETIC_CHARSETS,
  SYNTHETIC_TRANSFER_SYNTAXES,
  writeSeries,
  type SyntheticCharset,
  type SyntheticModality,
  type SyntheticSeriesOptions,
} from './synthetic.ts';
import { TS } from './uids.ts';

const DEFAULT_COUNT: Record<SyntheticModality, number> = { CT: 300, MR: 24, CR: 1 };

const USAGE = `Usage: node --import tsx src/server/archive/dicom/synthetic-cli.ts --out <dir> [options]

Options:
  --out <dir>            folder to write the files into (created if missing)
  --modality <m>         CT, MR or CR (default CT)
  --count <n>            number of instances (default CT 300, MR 24, CR 1)
  --size <n>             rows and columns (default CT 512, MR 256, CR 2140x1760)
  --charset <value>      Specific Character Set, one of:
                           ${SYNTHETIC_CHARSETS.map((c) => `'${c}'`).join('\n                           ')}
                         (default '\\ISO 2022 IR 87')
  --ts <uid|name>        transfer syntax UID or name (default ${TS.ExplicitVRLittleEndian}), one of:
                           ${SYNTHETIC_TRANSFER_SYNTAXES.map((uid) => `${uid} (${tsName(uid)})`).join('\n                           ')}
  --patient <index>      index into the sample patients (default 0):
                           ${SAMPLE_PATIENTS.map((p, i) => `${i}: ${[p.name.alphabetic, p.name.ideographic, p.name.phonetic].filter(Boolean).join('=')}`).join('\n                           ')}
  --seed <n>             seed for reproducible pixels, times and derived UIDs
  --study-uid <uid>      add the series to this study (default: a new study)
  --series-number <n>    Series Number (default 1)
  --help                 show this help
`;

function tsName(uid: string): string {
  return Object.entries(TS).find(([, v]) => v === uid)?.[0] ?? uid;
}

function fail(message: string): never {
  process.stderr.write(`synthetic-cli: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) fail(`--${name} must be an integer >= ${min}, got "${value}"`);
  return Number(value);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: 'string' },
        modality: { type: 'string', default: 'CT' },
        count: { type: 'string' },
        size: { type: 'string' },
        charset: { type: 'string' },
        ts: { type: 'string' },
        patient: { type: 'string', default: '0' },
        seed: { type: 'string' },
        'study-uid': { type: 'string' },
        'series-number': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.out) fail('--out <dir> is required');

  const modality = values.modality.toUpperCase() as SyntheticModality;
  if (!(modality in DEFAULT_COUNT)) fail(`--modality must be CT, MR or CR, got "${values.modality}"`);

  const charset = values.charset as SyntheticCharset | undefined;
  if (charset !== undefined && !SYNTHETIC_CHARSETS.includes(charset)) {
    fail(`--charset must be one of ${SYNTHETIC_CHARSETS.map((c) => `'${c}'`).join(', ')}, got '${charset}'`);
  }

  let transferSyntax: string | undefined;
  if (values.ts !== undefined) {
    const byName = Object.entries(TS).find(([name]) => name.toLowerCase() === values.ts!.toLowerCase())?.[1];
    transferSyntax = byName ?? values.ts;
    if (!SYNTHETIC_TRANSFER_SYNTAXES.includes(transferSyntax)) fail(`--ts ${values.ts} cannot be generated`);
  }

  const patientIndex = integer('patient', values.patient, 0)!;
  const patient = SAMPLE_PATIENTS[patientIndex];
  if (!patient) fail(`--patient must be 0..${SAMPLE_PATIENTS.length - 1}, got ${patientIndex}`);

  const size = integer('size', values.size, 8);
  const opts: SyntheticSeriesOptions = {
    modality,
    count: integer('count', values.count, 1) ?? DEFAULT_COUNT[modality],
    patient,
    ...(size !== undefined ? { rows: size, columns: size } : {}),
    ...(charset !== undefined ? { charset } : {}),
    ...(transferSyntax !== undefined ? { transferSyntax } : {}),
    ...(values.seed !== undefined ? { seed: integer('seed', values.seed, 0)! } : {}),
    ...(values['study-uid'] !== undefined ? { studyInstanceUid: values['study-uid'] } : {}),
    ...(values['series-number'] !== undefined ? { seriesNumber: integer('series-number', values['series-number'], 0)! } : {}),
  };

  const started = performance.now();
  const result = await writeSeries(values.out, opts);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `Wrote ${result.files.length} ${modality} files to ${values.out}\n` +
      `Total: ${(result.bytes / (1024 * 1024)).toFixed(result.bytes < 10 * 1024 * 1024 ? 2 : 1)} MB in ${seconds.toFixed(1)} s\n` +
      `Study Instance UID: ${result.studyInstanceUid}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`synthetic-cli: ${(err as Error).message}\n`);
  process.exit(1);
});
