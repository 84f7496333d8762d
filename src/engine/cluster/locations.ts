/**
 * How snapshot locations are shown to users: local paths as Flink shows them (`file:/abs/path`),
 * other schemes (s3://) as they are.
 */
import { isAbsolute, resolve } from 'node:path';

export function externalPath(location: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) return location;
  return `file:${isAbsolute(location) ? location : resolve(location)}`;
}
