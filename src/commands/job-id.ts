/** Job ids as Flink writes them: 32 hex digits. A wrong one is refused before any request. */
import { UserError } from '../errors.ts';

export function checkJobId(value: string): string {
  if (!/^[0-9a-fA-F]{32}$/.test(value)) {
    throw new UserError(`'${value}' is not a job id: a JobID is 32 hexadecimal characters, as 'flink list' shows them.`, 1);
  }
  return value.toLowerCase();
}
