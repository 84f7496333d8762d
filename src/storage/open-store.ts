/**
 * Turns a location from the command line or the config (`state.checkpoints.dir`,
 * `state.savepoints.dir`, a savepoint path) into an `ObjectStore`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { LocalObjectStore } from './local-store.ts';
import type { ObjectStore } from './object-store.ts';
import type { S3StoreOptions } from './s3-store.ts';

export interface OpenStoreOptions {
  /** The `s3.endpoint` config key. */
  s3Endpoint?: string;
  /** The `s3.path.style.access` config key. */
  s3PathStyle?: boolean;
  /** Instead of the SDK's default chain; for tests (see test/support/s3-server.ts). */
  s3Credentials?: S3StoreOptions['credentials'];
}

/**
 * `s3://bucket[/prefix]` (also Flink's `s3a://` and `s3p://` spellings) opens an S3 store;
 * `file:///abs/path` or a plain path, relative ones against the working directory, a local one.
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (location.trim() === '') {
    throw new UserError('empty storage location (give a directory or an s3:// URL)');
  }
  if (/^s3[ap]?:/i.test(location)) {
    if (!/^s3[ap]?:\/\//i.test(location)) {
      throw new UserError(`${location}: not a valid S3 location (expected s3://bucket or s3://bucket/path)`);
    }
    const s3: S3StoreOptions = {};
    if (options.s3Endpoint !== undefined) s3.endpoint = options.s3Endpoint;
    if (options.s3PathStyle !== undefined) s3.pathStyle = options.s3PathStyle;
    if (options.s3Credentials !== undefined) s3.credentials = options.s3Credentials;
    // Loaded on demand: the AWS SDK is hundreds of modules, and most commands never touch S3.
    const { S3ObjectStore } = await import('./s3-store.ts');
    return new S3ObjectStore(location, s3);
  }
  if (/^file:/i.test(location)) {
    let path: string;
    try {
      path = fileURLToPath(location);
    } catch (err) {
      const message = `${location}: not a valid file URL (expected file:///absolute/path)`;
      throw new UserError(message, undefined, { cause: err });
    }
    return new LocalObjectStore(resolve(path));
  }
  // Anything else with a scheme (hdfs://, gs://, ...) is a file system we do not support;
  // a Windows drive letter (C:\...) is a single letter and so not mistaken for one.
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(location)?.[1];
  if (scheme !== undefined) {
    throw new UserError(
      `${location}: unsupported file system "${scheme}" (use a local path, file:// or s3://)`,
    );
  }
  // resolve() also drops a trailing separator, so `dir/` and `dir` are the same store.
  return new LocalObjectStore(resolve(process.cwd(), location));
}
