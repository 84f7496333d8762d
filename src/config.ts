/**
 * Configuration given as `-D key=value` (Flink's spelling). Only the keys the file tools use so
 * far are known; the cluster issue adds `config.yaml` and the rest of Flink's keys.
 */
import { UsageError } from './errors.ts';
import type { OpenStoreOptions } from './storage/open-store.ts';

export const KNOWN_KEYS = {
  's3.endpoint': 'S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)',
  's3.path.style.access': 'true|false: path-style S3 URLs (default true when an endpoint is set)',
} as const;

export type Config = ReadonlyMap<string, string>;

/** Parses `-D` values; unknown keys are kept and reported through `warn`. */
export function parseDefines(defines: readonly string[], warn: (message: string) => void): Config {
  const config = new Map<string, string>();
  for (const define of defines) {
    const eq = define.indexOf('=');
    if (eq <= 0) throw new UsageError(`-D ${define}: expected key=value`);
    const key = define.slice(0, eq).trim();
    if (!Object.hasOwn(KNOWN_KEYS, key)) warn(`Warning: unknown configuration key '${key}' is ignored.`);
    config.set(key, define.slice(eq + 1).trim());
  }
  return config;
}

export function storeOptions(config: Config): OpenStoreOptions {
  const options: OpenStoreOptions = {};
  const endpoint = config.get('s3.endpoint');
  if (endpoint !== undefined) options.s3Endpoint = endpoint;
  const pathStyle = config.get('s3.path.style.access');
  if (pathStyle !== undefined) {
    if (pathStyle !== 'true' && pathStyle !== 'false') {
      throw new UsageError(`s3.path.style.access: '${pathStyle}' is not one of true, false`);
    }
    options.s3PathStyle = pathStyle === 'true';
  }
  return options;
}
