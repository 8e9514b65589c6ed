// Files: the uploads half of the composition root (issue 20), apart from main.ts like
// notifications.ts. It chooses where the bytes of uploaded files live and builds the service
// that receives, serves and collects them; it decides nothing else.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BlobStore } from './blobs/blob-store.js';
import { DiskBlobStore } from './blobs/disk-blobs.js';
import { PostgresBlobStore } from './blobs/postgres-blobs.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { ImageProcessor } from './media/images.js';
import type { Store } from './store/store.js';
import { prepareTempDir } from './uploads/receive.js';
import { CLUSTER_CLOCK_SKEW_MS, DISK_CLOCK_MARGIN_MS, Uploads } from './uploads/uploads.js';

/** The uploads service and how to stop it. */
export interface Files {
  readonly uploads: Uploads;
  /**
   * Stops the collector, waits for the image being decoded and the decoder child's end, and
   * closes the blob store.
   */
  close(): Promise<void>;
}

/**
 * Opens the blob store `--blob-store` names (auto: PostgreSQL beside `--store postgres`, the
 * disk under `--data-dir` otherwise; with `--store memory` a temporary directory removed at
 * close, as nothing else of that store outlives the process) and starts the collector.
 */
export async function openFiles(config: Config, store: Store, logger: Logger): Promise<Files> {
  const pg =
    config.blobStore === 'postgres' || (config.blobStore === 'auto' && config.store === 'postgres');
  let blobs: BlobStore;
  let tempDir: string;
  let scratch: string | undefined;
  if (pg) {
    if (config.store !== 'postgres') {
      logger.warn(
        '--blob-store postgres beside a store of one process: files go to --database-url',
      );
    }
    blobs = await PostgresBlobStore.open({
      url: config.databaseUrl,
      schema: config.databaseSchema,
      logger,
    });
    // A directory of this process's own: never a shared, guessable name in /tmp.
    scratch = await mkdtemp(join(tmpdir(), 'ssechat-uploads-'));
    tempDir = join(scratch, 'incoming');
  } else if (config.store === 'memory') {
    scratch = await mkdtemp(join(tmpdir(), 'ssechat-files-'));
    blobs = await DiskBlobStore.open(join(scratch, 'blobs'));
    tempDir = join(scratch, 'incoming');
  } else {
    if (config.store === 'postgres') {
      logger.warn(
        '--blob-store disk with --store postgres: run one process, other processes cannot serve these files',
      );
    }
    const dataDir = resolve(config.dataDir);
    blobs = await DiskBlobStore.open(join(dataDir, 'blobs'));
    tempDir = join(dataDir, 'incoming');
  }
  await prepareTempDir(tempDir);
  // A served copy may be no larger than an upload may be: a tiny lossless image of a large flat
  // area would otherwise re-encode to tens of megabytes of blob.
  const images = new ImageProcessor({
    maxPixels: config.maxImagePixels,
    maxOutputBytes: config.maxUploadBytes,
  });
  const uploads = new Uploads({
    store: store.uploads,
    blobs,
    images,
    logger,
    tempDir,
    maxBytes: config.maxUploadBytes,
    quotaBytes: config.uploadQuotaBytes,
    unsentTtlMs: config.uploadUnsentTtl * 1000,
    clockSkewMs: pg ? CLUSTER_CLOCK_SKEW_MS : DISK_CLOCK_MARGIN_MS,
  });
  const stopSweeper = uploads.startSweeper();
  return {
    uploads,
    async close() {
      stopSweeper();
      await images.close();
      await blobs.close();
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    },
  };
}
