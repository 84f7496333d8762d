/**
 * An `ObjectStore` in an S3 bucket (AWS or any S3-compatible server: MinIO, Ceph, s3rver).
 *
 * S3 keeps the consistency contract by itself: PutObject and CompleteMultipartUpload are
 * atomic, and reads and lists are strongly consistent since December 2020. A streamed object
 * becomes a multipart upload, which is invisible until it completes; an abandoned one is
 * garbage that a bucket lifecycle rule ("abort incomplete multipart uploads") removes.
 */
import { PassThrough } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InternalError, UserError } from '../errors.ts';
import { checkKey } from './local-store.ts';
import { ObjectNotFoundError } from './object-store.ts';
import type { CopyHow, ObjectInfo, ObjectStore, ObjectWriter } from './object-store.ts';

export interface S3StoreOptions {
  /** The `s3.endpoint` config key; else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  /** `s3.path.style.access`; defaults to true when an endpoint is set (MinIO, s3rver). */
  pathStyle?: boolean;
  /** Else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Else the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const PART_SIZE = 8 * 1024 * 1024;

/** Splits `s3://bucket/some/prefix/` into bucket and prefix (without slashes at either end). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3[ap]?:\/\/([^/]*)\/*(.*?)\/*$/i.exec(url);
  const bucket = match?.[1] ?? '';
  if (bucket === '' || /[\s\\]/.test(bucket)) {
    throw new UserError(`${url}: not a valid S3 location (expected s3://bucket or s3://bucket/path)`);
  }
  return { bucket, prefix: match?.[2] ?? '' };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly endpoint: string | undefined;
  private readonly client: S3Client;
  /** Set by the first successful request; a 404 before that may mean a missing bucket. */
  private bucketSeen = false;

  constructor(
    url: string,
    private readonly options: S3StoreOptions = {},
  ) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.location = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    const env = process.env;
    this.endpoint =
      nonEmpty(options.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
    if (this.endpoint !== undefined && !/^https?:\/\/[^/]/i.test(this.endpoint)) {
      const shown = JSON.stringify(this.endpoint);
      throw new UserError(`S3 endpoint ${shown}: not an http(s) URL (for example http://localhost:9000)`);
    }
    const region = nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
    this.client = new S3Client({
      region: region ?? 'us-east-1',
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
      forcePathStyle: options.pathStyle ?? this.endpoint !== undefined,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // The SDK's default (WHEN_SUPPORTED) frames streamed bodies as aws-chunked with a checksum
      // trailer; s3rver and older S3-compatible servers store that framing as object bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A dead endpoint should fail in seconds, not after minutes of retries.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5_000 },
    });
  }

  describe(key: string): string {
    return `${this.location}/${key}`;
  }

  storeAbove(levels: number): ObjectStore | undefined {
    const segments = this.keyPrefix.split('/').filter((s) => s !== '');
    if (segments.length < levels) return undefined;
    return new S3ObjectStore(`s3://${this.bucket}/${segments.slice(0, segments.length - levels).join('/')}`, this.options);
  }

  private fullKey(key: string): string {
    checkKey(key);
    return this.keyPrefix + key;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const command = new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) });
      const head = await this.client.send(command);
      this.bucketSeen = true;
      return { key, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (!isNotFound(err)) throw this.failure(err, key);
    }
    // HEAD responses have no body, so S3 cannot say whether the key or the bucket is missing.
    if (!this.bucketSeen) {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
        this.bucketSeen = true;
      } catch (err) {
        throw this.failure(isNotFound(err) ? new BucketMissing('HeadBucket: 404', { cause: err }) : err, key);
      }
    }
    return undefined;
  }

  /**
   * From listings of the keys' directories (ListObjectsV2 gives each object's size; a thousand a
   * request) rather than a HEAD per key: `flink inspect` of a checkpoint with a thousand data files
   * made a thousand requests. A listing stops once it found every key of its directory, and after
   * `listingLimit(keys)` objects (a directory holding far more than the keys, a bucket's root); the
   * keys it did not reach then get their HEAD each, so a key is only ever missing when a listing
   * that went past where it would be did not name it.
   */
  async statMany(keys: readonly string[]): Promise<Map<string, ObjectInfo>> {
    const found = new Map<string, ObjectInfo>();
    await Promise.all(
      [...listingGroups(keys)].map(async ([dir, wanted]) => {
        const left = new Set(wanted);
        let listed = 0;
        let complete = true;
        for await (const info of this.list(dir === '' ? '' : `${dir}/`)) {
          if (left.delete(info.key)) found.set(info.key, info);
          if (left.size === 0) break;
          if (++listed >= listingLimit(wanted.length)) {
            complete = false;
            break;
          }
        }
        if (complete) return;
        await Promise.all(
          [...left].map(async (key) => {
            const info = await this.stat(key);
            if (info !== undefined) found.set(key, info);
          }),
        );
      }),
    );
    return found;
  }

  async get(key: string): Promise<Uint8Array> {
    return (await this.read(key)).bytes;
  }

  /**
   * A server-side CopyObject when both stores talk to the same endpoint (no bytes through this
   * process); a single CopyObject copies at most 5 GiB, so larger objects are streamed.
   */
  async copyFrom(source: ObjectStore, sourceKey: string, key: string): Promise<CopyHow | undefined> {
    if (!(source instanceof S3ObjectStore) || source.endpoint !== this.endpoint) return undefined;
    const info = await source.stat(sourceKey);
    if (info === undefined) throw new ObjectNotFoundError(source.describe(sourceKey));
    if (info.size > 5 * 1024 ** 3) return undefined;
    try {
      const copySource = `${source.bucket}/${source.fullKey(sourceKey)}`.split('/').map(encodeURIComponent).join('/');
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), CopySource: copySource }));
      return 'server-side';
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(source.describe(sourceKey));
      throw this.failure(err, key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new InternalError(`invalid range ${offset}+${length}`);
    }
    if (length === 0) {
      if ((await this.stat(key)) === undefined) throw new ObjectNotFoundError(this.describe(key));
      return new Uint8Array(0);
    }
    let result: { bytes: Uint8Array; start: number } | undefined;
    try {
      result = await this.read(key, `bytes=${offset}-${offset + length - 1}`);
    } catch (err) {
      // 416: the object exists but ends at or before `offset`.
      if (err instanceof RangeNotSatisfiable) return new Uint8Array(0);
      throw err;
    }
    // Servers may ignore the range (200) or widen it (s3rver answers bytes=0-0 with everything).
    const from = offset - result.start;
    if (from < 0) {
      throw new UserError(`${this.describe(key)}: the server answered a ranged read with the wrong bytes`);
    }
    return result.bytes.subarray(from, from + length);
  }

  private async read(key: string, range?: string): Promise<{ bytes: Uint8Array; start: number }> {
    try {
      const command = new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.fullKey(key),
        ...(range === undefined ? {} : { Range: range }),
      });
      const response = await this.client.send(command);
      this.bucketSeen = true;
      const bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
      const start = /^bytes (\d+)-/.exec(response.ContentRange ?? '')?.[1];
      return { bytes, start: start === undefined ? 0 : Number(start) };
    } catch (err) {
      if (errorName(err) === 'InvalidRange' || statusOf(err) === 416) throw new RangeNotSatisfiable();
      if (isNotFound(err)) throw new ObjectNotFoundError(this.describe(key));
      throw this.failure(err, key);
    }
  }

  async createWriter(key: string): Promise<ObjectWriter> {
    return new S3Writer(this, this.client, this.bucket, this.fullKey(key), key);
  }

  async publish(key: string, bytes: Uint8Array): Promise<void> {
    try {
      const Key = this.fullKey(key);
      const ContentLength = bytes.length;
      const command = new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength });
      await this.client.send(command);
      this.bucketSeen = true;
    } catch (err) {
      throw this.failure(err, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyPrefix + prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        )
        .catch((err: unknown) => {
          throw this.failure(err, prefix);
        });
      this.bucketSeen = true;
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.keyPrefix.length);
        // Keys ending in '/' are "folder" placeholders made by consoles, not objects.
        if (key === undefined || key === '' || key.endsWith('/')) continue;
        yield { key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      this.bucketSeen = true;
    } catch (err) {
      if (errorName(err) !== 'NoSuchKey') throw this.failure(err, key);
    }
  }

  /** Turns an SDK or network error into a one-line UserError (contract 5). For this file only. */
  failure(err: unknown, key: string): Error {
    if (err instanceof UserError || err instanceof InternalError) return err;
    return new UserError(this.explain(err, key === '' ? this.location : this.describe(key)), undefined, {
      cause: err,
    });
  }

  private explain(err: unknown, where: string): string {
    const name = errorName(err);
    const status = statusOf(err);
    const code = networkCode(err);
    if (name === 'NoSuchBucket') {
      return `s3://${this.bucket}: the bucket does not exist (create it, or check s3.endpoint / AWS_ENDPOINT_URL)`;
    }
    if (code !== undefined || name === 'TimeoutError') {
      const endpoint = this.endpoint ?? 'the AWS S3 endpoint';
      const hint = 'check s3.endpoint / AWS_ENDPOINT_URL and that the server is running';
      return `${where}: cannot reach ${endpoint} (${code ?? 'timed out'}; ${hint})`;
    }
    if (name === 'CredentialsProviderError') {
      return `${where}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`;
    }
    if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(name) || status === 403) {
      return `${where}: access denied (${name}; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy)`;
    }
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
      return `s3://${this.bucket}: the bucket is in another region (set AWS_REGION to its region)`;
    }
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return `${where}: S3 request failed (${name}${status === undefined ? '' : `, HTTP ${status}`}: ${message})`;
  }
}

class RangeNotSatisfiable extends Error {}

/** A HEAD's 404 carries no error code: this names it as GetObject's error body would have. */
class BucketMissing extends Error {
  override readonly name = 'NoSuchBucket';
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(err) === 404 && name !== 'NoSuchBucket');
}

const NETWORK_CODES = new Set(
  'ECONNREFUSED ECONNRESET EPIPE ETIMEDOUT EHOSTUNREACH ENETUNREACH ENOTFOUND EAI_AGAIN'.split(' '),
);

/** The socket error code, also inside the AggregateError Node raises after trying IPv4 and IPv6. */
function networkCode(err: unknown): string | undefined {
  const codes = [err, ...(err instanceof AggregateError ? err.errors : [])].map(
    (e) => (e as NodeJS.ErrnoException | undefined)?.code,
  );
  return codes.find((c): c is string => c !== undefined && NETWORK_CODES.has(c));
}

/**
 * Streams into a multipart upload through a PassThrough, so at most about three parts
 * (two uploading, one filling) are in memory whatever the object's size.
 */
class S3Writer implements ObjectWriter {
  private readonly body = new PassThrough();
  /** Settles (never rejects) when the upload has finished, failed or been given up. */
  private readonly settled: Promise<unknown>;
  private failed: unknown;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';

  constructor(
    private readonly store: S3ObjectStore,
    client: S3Client,
    bucket: string,
    fullKey: string,
    private readonly key: string,
  ) {
    const params = { Bucket: bucket, Key: fullKey, Body: this.body };
    const upload = new Upload({ client, params, partSize: PART_SIZE, queueSize: 2 });
    // Failures reach the caller through `settled`; this keeps a failed body from crashing the process.
    this.body.on('error', () => undefined);
    this.settled = upload.done().then(
      () => undefined,
      (err: unknown) => {
        this.failed = err;
        this.body.destroy();
      },
    );
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new InternalError(`write after ${this.state}: ${this.key}`);
    if (this.failed !== undefined) throw this.store.failure(this.failed, this.key);
    // Copied: the uploader keeps chunks until their part is sent, and the caller may reuse `chunk`.
    if (this.body.write(Buffer.from(chunk))) return;
    let onDrain = (): void => undefined;
    const drained = new Promise<void>((resolve) => this.body.once('drain', (onDrain = resolve)));
    await Promise.race([drained, this.settled]);
    this.body.off('drain', onDrain);
    if (this.failed !== undefined) throw this.store.failure(this.failed, this.key);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') throw new InternalError(`close after ${this.state}: ${this.key}`);
    this.state = 'closing';
    this.body.end();
    await this.settled;
    if (this.failed !== undefined) throw this.store.failure(this.failed, this.key);
    this.state = 'closed';
  }

  /**
   * Fails the body stream rather than calling `Upload.abort()`: that would reject `done()` at
   * once while parts still in flight finish in the background. Failing the body makes the upload
   * wait for them, send AbortMultipartUpload and never complete, and only then settle.
   */
  async abort(): Promise<void> {
    if (this.state === 'closed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.body.destroy(new Error('writer aborted'));
    await this.settled;
  }
}

/** Objects a listing for `wanted` keys reads at most: a page per thousand keys and a few more pages, whatever else the directory holds. */
function listingLimit(wanted: number): number {
  return 4 * wanted + 4_000;
}

/**
 * The keys grouped by the directory to list for them: each key's own, or the highest of its
 * directories that is listed for another key anyway (a listing takes in everything below its
 * directory), so no object is listed twice.
 */
export function listingGroups(keys: readonly string[]): Map<string, string[]> {
  const dirOf = (key: string): string => key.slice(0, Math.max(0, key.lastIndexOf('/')));
  const dirs = [...new Set(keys.map(dirOf))].sort((a, b) => a.length - b.length);
  const listed: string[] = [];
  for (const dir of dirs) if (!listed.some((top) => top === '' || dir.startsWith(`${top}/`))) listed.push(dir);
  const groups = new Map<string, string[]>(listed.map((dir) => [dir, []]));
  for (const key of keys) {
    const dir = dirOf(key);
    const top = listed.find((t) => t === dir || t === '' || dir.startsWith(`${t}/`))!;
    groups.get(top)!.push(key);
  }
  return groups;
}
