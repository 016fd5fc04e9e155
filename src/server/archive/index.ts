/**
 * Archive module: image intake (DIMSE C-STORE, STOW-RS, import) and the index.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../platform/context.ts';
import type { BlobStore } from '../platform/blobs/index.ts';
import { registerStow } from './dicomweb/stow.ts';
import { registerQido } from './dicomweb/qido.ts';
import { registerWado } from './dicomweb/wado.ts';
import { registerMetadata } from './dicomweb/metadata.ts';
import { registerFrames } from './dicomweb/frames.ts';
import { registerRendered, type RenderedDeps } from './dicomweb/rendered.ts';
import type { RenderEngine } from './render/index.ts';
import type { QueryRepository } from './repository.ts';
import type { AuditService } from '../audit/index.ts';
import type { IntakeService } from './service.ts';
import type { VerifiedReader } from './read.ts';

export { IntakeService, type IntakeResult, type IntakeOrigin } from './service.ts';
export { Intake } from './intake.ts';
export { startDimse, type DimseListener } from './dimse/scp.ts';
export { FAILURE_STATUS } from './status.ts';
export { QueryRepository } from './repository.ts';
export { nameSearchText } from './dicom/names.ts';
export { writeNameKeys } from './name-keys.ts';
export { VerifiedReader, type StoredRef } from './read.ts';
export { RenderEngine, initRenderCodecs, jpegEncoder, type ModalityFrame, type MeasurementAttributes, type OutputLut } from './render/index.ts';

/** Options of the archive's HTTP plugin. */
export interface ArchivePluginOptions {
  intake: IntakeService;
  blobs: BlobStore;
  maxUploadBytes: number;
  maxInstanceBytes: number;
  authenticate(req: FastifyRequest, scope: string): Promise<Extract<Actor, { kind: 'token' }>>;
  queries: QueryRepository;
  audit: AuditService<any>;
  /** The caller of a read (API token or user session) and the facilities it may read. */
  reader(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /** The caller of a DICOM retrieval (facility API tokens only: thin client, S6). */
  retriever(req: FastifyRequest): Promise<{ actor: Actor; scope: 'all' | string[] }>;
  /** Reads stored files with their SHA-256 checked. */
  files: VerifiedReader;
  /** Public base URL (ENKAKU_PUBLIC_URL) for URLs in responses. */
  publicUrl: string | undefined;
  /** The rendering engine (rendered and thumbnail resources). */
  renderer: RenderEngine;
  /** The display calibration of the reader's terminal for rendered images (see RenderedDeps). */
  outputLutFor?: RenderedDeps['outputLutFor'];
}

/** Registers DICOM retrieval: WADO-RS under `/dicomweb` and WADO-URI at `/wado` (at the root). */
export async function retrievalPlugin(app: FastifyInstance, opts: ArchivePluginOptions): Promise<void> {
  registerWado(app, opts);
  registerMetadata(app, opts);
  registerFrames(app, opts);
  registerRendered(app, opts);
}

/** Registers the DICOMweb routes under the current prefix (`/dicomweb`). */
export async function archivePlugin(app: FastifyInstance, opts: ArchivePluginOptions): Promise<void> {
  registerStow(app, opts);
  registerQido(app, opts);
}
