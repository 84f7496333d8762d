/**
 * Ports Node's fetch (undici) refuses to connect to: the Fetch standard's "bad port" list
 * (https://fetch.spec.whatwg.org/#port-blocking), as Node 20's bundled undici has it. undici does
 * not export its list, so it is kept here; bad-ports.test.ts checks it against Node's fetch. The
 * CLI's RestClient uses node:http, but TaskManagers reach their JobManager with fetch (and the
 * dashboard is a browser's fetch): a JobManager on one of these ports could never get a
 * TaskManager, so the port is refused where it is given.
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139,
  143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659,
  4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Why `port` cannot be a JobManager's REST port, or undefined when it can. */
export function badPortProblem(port: number): string | undefined {
  return FETCH_BAD_PORTS.has(port) ? `port ${port} is one Node's HTTP client refuses (a WHATWG "bad port"); use another port` : undefined;
}
