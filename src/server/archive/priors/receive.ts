/**
 * Stores the C-STORE sub-operations of a C-GET through the archive's intake, exactly like
 * data received by Enkaku's C-STORE SCP: the data set bytes as sent, preceded by the file
 * meta group built from the command (PS3.10 §7.1), hashed (SHA-256) while they arrive,
 * made durable, indexed and audited; the sub-operation is answered only after that.
 */
import { Writable } from 'node:stream';
import type { BlobStore } from '../../platform/blobs/index.ts';
import type { Logger } from '../../platform/log.ts';
import { buildFileMeta } from '../dicom/filemeta.ts';
import { Intake } from '../intake.ts';
import type { IntakeOrigin, IntakeResult, IntakeService } from '../service.ts';
import { FAILURE_STATUS, STATUS_SUCCESS } from '../status.ts';
import type { IncomingStore, StoreSink } from './scu.ts';

/** What the sink needs. */
export interface IntakeSinkDeps {
  intake: IntakeService;
  blobs: BlobStore;
  log: Logger;
  maxInstanceBytes: number;
}

/**
 * A {@link StoreSink} into the intake.
 * @param origin - how the instances arrived (the facility of the study, the PACS as device, source `priors`)
 * @param onResult - called with each stored, duplicate or refused instance
 * @param received - SOP Instance UIDs already received by this retrieval: sent again (in
 *   another transfer syntax, on a second pass), they are answered with success and not stored twice
 */
export function intakeSink(deps: IntakeSinkDeps, origin: IntakeOrigin, onResult: (r: IntakeResult) => void, received?: ReadonlySet<string>): StoreSink {
  const receiving = new Set<Intake>();
  return {
    open(store: IncomingStore): { stream: Writable; status: Promise<number> } {
      const { sopClassUid, sopInstanceUid, transferSyntaxUid: ts } = store;
      if (received?.has(sopInstanceUid)) return { stream: new Writable({ write: (_c, _e, cb) => cb() }), status: Promise.resolve(STATUS_SUCCESS) };
      const prefix = buildFileMeta(sopClassUid, sopInstanceUid, ts);
      const started = Intake.start(deps.blobs, deps.maxInstanceBytes + prefix.length, prefix);
      started.then((i) => receiving.add(i), () => undefined);
      let failure: Error | undefined;
      const stream = new Writable({
        highWaterMark: 4 * 1024 * 1024,
        write(chunk: Buffer, _enc, cb) {
          if (failure) return cb();
          started
            .then((i) => i.write(chunk))
            .then(
              () => cb(),
              (err: Error) => {
                failure = err;
                cb();
              },
            );
        },
      });
      const status = new Promise<number>((resolve) => {
        stream.on('finish', () => {
          void (async (): Promise<IntakeResult> => {
            const i = await started;
            receiving.delete(i);
            if (failure) {
              await i.discard();
              throw failure;
            }
            if (i.exceeded) return { ok: false, failure: 'too-large', message: `instance exceeds the limit of ${deps.maxInstanceBytes} bytes`, sopClassUid, sopInstanceUid };
            const obj = await i.finish();
            return deps.intake.ingestDimse(obj, origin, { sopClassUid, sopInstanceUid, transferSyntaxUid: ts, datasetOffset: prefix.length });
          })().then(
            (result) => {
              onResult(result);
              resolve(result.ok ? STATUS_SUCCESS : FAILURE_STATUS[result.failure]);
            },
            (err: Error) => {
              deps.log.error({ event: 'priors.store-error', err: err.message, sopInstanceUid }, 'storing a retrieved prior instance failed');
              onResult({ ok: false, failure: 'processing', message: 'internal error while storing', sopClassUid, sopInstanceUid });
              resolve(FAILURE_STATUS.processing);
            },
          );
        });
      });
      return { stream, status };
    },
    async close(): Promise<void> {
      for (const i of receiving) await i.discard().catch(() => undefined);
      receiving.clear();
    },
  };
}
