import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import {
  type CheckpointConfig,
  checkpointConfigFromKeys,
  defaultCheckpointConfig,
  effectiveInterval,
  validateCheckpointConfig,
} from './checkpoint-config.ts';

const keys = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));
const P = 'execution.checkpointing.';

function errorOf(entries: Record<string, string>): UserError {
  try {
    checkpointConfigFromKeys(keys(entries));
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('defaultCheckpointConfig', () => {
  it("has Flink 2's defaults", () => {
    expect(defaultCheckpointConfig).toEqual({
      interval: null,
      mode: 'EXACTLY_ONCE',
      timeout: 600_000,
      minPause: 0,
      maxConcurrent: 1,
      tolerableFailures: 0,
      numRetained: 1,
      retention: 'NO_EXTERNALIZED_CHECKPOINTS',
      unalignedEnabled: false,
      alignedCheckpointTimeout: 0,
      incremental: false,
      dir: null,
      savepointDir: null,
      localBackup: false,
      localRootDir: null,
    });
    expect(Object.isFrozen(defaultCheckpointConfig)).toBe(true);
  });

  it('is what an empty map gives', () => {
    expect(checkpointConfigFromKeys(new Map())).toEqual(defaultCheckpointConfig);
  });
});

describe('local recovery keys', () => {
  it('accepts the deprecated state.backend.local-recovery, the current name winning', () => {
    expect(checkpointConfigFromKeys(keys({ 'state.backend.local-recovery': 'true' })).localBackup).toBe(true);
    expect(checkpointConfigFromKeys(keys({ 'state.backend.local-recovery': 'true', [`${P}local-backup.enabled`]: 'false' })).localBackup).toBe(false);
  });
  it("reads Flink 2's execution.state-recovery.from-local (whose older name state.backend.local-recovery is), local-backup.enabled falling back to it", () => {
    expect(checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'true' })).localBackup).toBe(true);
    expect(checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'TRUE', [`${P}local-backup.enabled`]: 'true' })).localBackup).toBe(true);
    expect(checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'true', [`${P}local-backup.enabled`]: 'false' })).localBackup).toBe(false);
    expect(checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'false' })).localBackup).toBe(false);
    expect(checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'false', 'state.backend.local-recovery': 'true' })).localBackup).toBe(false);
    expect(() => checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'yes' }))).toThrow("execution.state-recovery.from-local: 'yes' is not one of true, false");
    // Flink would keep copies it never reads: refused, not ignored.
    expect(() => checkpointConfigFromKeys(keys({ 'execution.state-recovery.from-local': 'false', [`${P}local-backup.enabled`]: 'true' }))).toThrow(
      'execution.state-recovery.from-local: false with execution.checkpointing.local-backup.enabled: true is not supported (tsflink restores from the local copies whenever it keeps them); set execution.state-recovery.from-local to true or leave it unset, or turn execution.checkpointing.local-backup.enabled off',
    );
  });
  it("reads Flink 2's execution.checkpointing.local-backup.dirs, and Flink 1's taskmanager.state.local.root-dirs, the current name winning", () => {
    expect(checkpointConfigFromKeys(keys({ [`${P}local-backup.dirs`]: '/data/local' })).localRootDir).toBe('/data/local');
    expect(checkpointConfigFromKeys(keys({ 'taskmanager.state.local.root-dirs': '/old' })).localRootDir).toBe('/old');
    expect(checkpointConfigFromKeys(keys({ 'taskmanager.state.local.root-dirs': '/old', [`${P}local-backup.dirs`]: '/data/local' })).localRootDir).toBe('/data/local');
    expect(() => checkpointConfigFromKeys(keys({ [`${P}local-backup.dirs`]: '/a;/b' }))).toThrow(/names several directories; tsflink uses one/);
  });
  it('refuses several root dirs and remote ones in one line', () => {
    expect(() => checkpointConfigFromKeys(keys({ 'taskmanager.state.local.root-dirs': '/a,/b' }))).toThrow(/names several directories; tsflink uses one/);
    expect(() => checkpointConfigFromKeys(keys({ 'taskmanager.state.local.root-dirs': 's3://b/x' }))).toThrow(/not a local path/);
  });
});

describe('checkpointConfigFromKeys', () => {
  it('reads every key', () => {
    const config = checkpointConfigFromKeys(
      keys({
        [`${P}interval`]: '10 s',
        [`${P}mode`]: 'at_least_once',
        [`${P}timeout`]: '2 min',
        [`${P}min-pause`]: '500 ms',
        [`${P}max-concurrent-checkpoints`]: '3',
        [`${P}tolerable-failed-checkpoints`]: '5',
        [`${P}externalized-checkpoint-retention`]: 'RETAIN_ON_CANCELLATION',
        [`${P}num-retained`]: '4',
        [`${P}unaligned.enabled`]: 'FALSE',
        [`${P}aligned-checkpoint-timeout`]: '0 s',
        [`${P}incremental`]: 'false',
        [`${P}dir`]: ' s3://bucket/checkpoints ',
        [`${P}savepoint-dir`]: 'file:///tmp/savepoints',
        [`${P}local-backup.enabled`]: 'true',
        'taskmanager.state.local.root-dirs': '/var/tmp/local-state',
      }),
    );
    expect(config).toEqual<CheckpointConfig>({
      interval: 10_000,
      mode: 'AT_LEAST_ONCE',
      timeout: 120_000,
      minPause: 500,
      maxConcurrent: 3,
      tolerableFailures: 5,
      numRetained: 4,
      retention: 'RETAIN_ON_CANCELLATION',
      unalignedEnabled: false,
      alignedCheckpointTimeout: 0,
      incremental: false,
      dir: 's3://bucket/checkpoints',
      savepointDir: 'file:///tmp/savepoints',
      localBackup: true,
      localRootDir: '/var/tmp/local-state',
    });
  });

  it.each([
    ['0', null],
    ['0 ms', null],
    ['10', 10],
    ['10min', 600_000],
  ])('interval %j is %j', (text, interval) => {
    expect(checkpointConfigFromKeys(keys({ [`${P}interval`]: text })).interval).toBe(interval);
  });

  it('reads the deprecated keys Flink still accepts, preferring the current ones', () => {
    const old = checkpointConfigFromKeys(
      keys({
        'state.checkpoints.dir': '/old/chk',
        'state.savepoints.dir': '/old/sp',
        'state.checkpoints.num-retained': '3',
        'state.backend.incremental': 'false',
        [`${P}unaligned`]: 'false',
        [`${P}alignment-timeout`]: '0',
      }),
    );
    expect(old).toMatchObject({
      dir: '/old/chk',
      savepointDir: '/old/sp',
      numRetained: 3,
      incremental: false,
      unalignedEnabled: false,
      alignedCheckpointTimeout: 0,
    });
    // The old names of settings that are not built yet are refused like the current ones.
    expect(checkpointConfigFromKeys(keys({ 'state.backend.incremental': 'true' })).incremental).toBe(true);
    expect(errorOf({ [`${P}unaligned`]: 'true' }).message).toContain(`${P}unaligned.enabled: true is not supported yet`);
    const both = checkpointConfigFromKeys(keys({ 'state.checkpoints.dir': '/old', [`${P}dir`]: '/new' }));
    expect(both.dir).toBe('/new');
  });

  it.each([
    [{ [`${P}interval`]: '5 ms' }, `${P}interval: '5 ms' is out of range: allowed is at least 10 ms`],
    [{ [`${P}interval`]: 'often' }, `${P}interval: 'often' is not a duration: write a whole number with an optional unit`],
    [{ [`${P}interval`]: '-1' }, `${P}interval: '-1' is not a duration`],
    [{ [`${P}timeout`]: '9' }, `${P}timeout: '9' is out of range: allowed is at least 10 ms`],
    [{ [`${P}mode`]: 'exactly-once' }, `${P}mode: 'exactly-once' is not one of EXACTLY_ONCE, AT_LEAST_ONCE`],
    [
      { [`${P}externalized-checkpoint-retention`]: 'KEEP' },
      `${P}externalized-checkpoint-retention: 'KEEP' is not one of NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION, RETAIN_ON_CANCELLATION`,
    ],
    [{ [`${P}max-concurrent-checkpoints`]: '0' }, `${P}max-concurrent-checkpoints: '0' is out of range: allowed is from 1 to 2147483647`],
    [{ [`${P}max-concurrent-checkpoints`]: 'two' }, `${P}max-concurrent-checkpoints: 'two' is not a whole number`],
    [{ [`${P}max-concurrent-checkpoints`]: '1.5' }, `${P}max-concurrent-checkpoints: '1.5' is not a whole number`],
    [{ [`${P}tolerable-failed-checkpoints`]: '-1' }, `${P}tolerable-failed-checkpoints: '-1' is out of range: allowed is from 0 to 2147483647`],
    [{ [`${P}num-retained`]: '0' }, `${P}num-retained: '0' is out of range: allowed is from 1 to 2147483647`],
    [{ 'state.checkpoints.num-retained': '0' }, `state.checkpoints.num-retained: '0' is out of range`],
    [{ [`${P}num-retained`]: '2147483648' }, `${P}num-retained: '2147483648' is out of range`],
    [{ [`${P}incremental`]: 'yes' }, `${P}incremental: 'yes' is not one of true, false`],
    [{ [`${P}unaligned.enabled`]: '1' }, `${P}unaligned.enabled: '1' is not one of true, false`],
    [{ [`${P}dir`]: '  ' }, `${P}dir: the directory is empty`],
  ])('refuses %j', (entries, message) => {
    expect(errorOf(entries).message).toContain(message);
  });
});

describe('settings that are not built yet', () => {
  const UNALIGNED = `${P}unaligned.enabled: true is not supported yet (tsflink has no unaligned checkpoints); use false, the default: checkpoints are aligned`;
  const TIMEOUT = `${P}aligned-checkpoint-timeout: 30000 ms is not supported yet (it applies to unaligned checkpoints, which tsflink does not have); leave it unset`;

  it.each([
    [{ [`${P}unaligned.enabled`]: 'true' }, UNALIGNED],
    [{ [`${P}aligned-checkpoint-timeout`]: '30 s' }, TIMEOUT],
  ])('refuses %j from the configuration in one line, exit code 1', (entries, message) => {
    const error = errorOf(entries);
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(1);
  });

  it.each<[Partial<CheckpointConfig>, string]>([
    [{ unalignedEnabled: true }, UNALIGNED],
    [{ alignedCheckpointTimeout: 30_000 }, TIMEOUT],
  ])('refuses %j from the API (configureCheckpointing)', (change, message) => {
    expect(() => validateCheckpointConfig({ ...defaultCheckpointConfig, ...change })).toThrow(message);
  });
});

describe('incremental checkpoints', () => {
  it('are accepted under both keys and from the API', () => {
    expect(checkpointConfigFromKeys(keys({ [`${P}incremental`]: 'true' })).incremental).toBe(true);
    expect(validateCheckpointConfig({ ...defaultCheckpointConfig, incremental: true }).incremental).toBe(true);
  });

  it('go together with local recovery (local copies of the shared files)', () => {
    const config = checkpointConfigFromKeys(keys({ [`${P}incremental`]: 'TRUE', [`${P}local-backup.enabled`]: 'true' }));
    expect([config.incremental, config.localBackup]).toEqual([true, true]);
    expect(validateCheckpointConfig({ ...defaultCheckpointConfig, incremental: true, localBackup: true }).localBackup).toBe(true);
  });
});

describe('validateCheckpointConfig', () => {
  it('accepts the defaults and returns the config', () => {
    expect(validateCheckpointConfig(defaultCheckpointConfig)).toBe(defaultCheckpointConfig);
  });

  it.each<[Partial<CheckpointConfig>, string]>([
    [{ interval: 9 }, `${P}interval: '9' is out of range`],
    [{ interval: 10.5 }, `${P}interval: '10.5' is not a whole number`],
    [{ minPause: -1 }, `${P}min-pause: '-1' is out of range`],
    [{ alignedCheckpointTimeout: -5 }, `${P}aligned-checkpoint-timeout: '-5' is out of range`],
    [{ maxConcurrent: 0 }, `${P}max-concurrent-checkpoints: '0' is out of range`],
    [{ savepointDir: '' }, `${P}savepoint-dir: the directory is empty`],
  ])('refuses %j', (change, message) => {
    expect(() => validateCheckpointConfig({ ...defaultCheckpointConfig, ...change })).toThrow(message);
  });
});

describe('periodic trigger timing', () => {
  const config = (interval: number | null, minPause: number): CheckpointConfig => ({ ...defaultCheckpointConfig, interval, minPause });

  it.each([
    [null, 0, null],
    [1000, 0, 1000],
    [1000, 5000, 5000],
  ])('effectiveInterval(interval %j, minPause %j) is %j', (interval, minPause, expected) => {
    expect(effectiveInterval(config(interval, minPause))).toBe(expected);
  });
});
