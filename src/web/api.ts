/**
 * The dashboard's only source of data: the JobManager's REST API on the same origin, the JSON
 * that `flink` and scripts read. Errors carry Flink's `{"errors":[...]}` message.
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new RestError(0, `The JobManager does not answer (${err instanceof Error ? err.message : String(err)}).`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new RestError(response.status, `${method} ${path}: the answer is not JSON (HTTP ${response.status}).`);
  }
  if (!response.ok) {
    const errors = (json as { errors?: unknown }).errors;
    const message = Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : `HTTP ${response.status}`;
    throw new RestError(response.status, message);
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown): Promise<T> => call<T>('POST', path, body);
export const patch = <T>(path: string): Promise<T> => call<T>('PATCH', path);

/** A job id from the page's address, checked before it becomes part of a request path. */
export function jobPath(jobId: string): string {
  if (!/^[0-9a-f]{32}$/.test(jobId)) throw new Error(`'${jobId}' is not a job id`);
  return `/jobs/${jobId}`;
}
