import { describe, expect, it } from 'vitest';
import { clusterDefines, jobManagerDefines } from './cluster-launcher.ts';

describe('the JobManager started for the user', () => {
  it('takes every key that takes effect only when a cluster starts, not the job-only ones', () => {
    const cluster = ['process.jobmanager.working-dir=/wd', 'blob.storage.directory=/blobs', 'heartbeat.interval=1 s', 'heartbeat.timeout=1min', 'cluster.evenly-spread-out-slots=true', 'jobmanager.rpc.address=jm', 'rest.bind-address=0.0.0.0', 'taskmanager.count=3'];
    expect(clusterDefines([...cluster, 'slot.request.timeout=1 min', 'execution.checkpointing.interval=1 s'])).toEqual(cluster);
  });

  it('takes the TaskManager, slot manager and REST keys of a run, not the job-only ones', () => {
    expect(clusterDefines(['rest.port=1', 'taskmanager.numberOfTaskSlots=4', 'taskmanager.memory.task.heap.size=64m', 'slotmanager.number-of-slots.max=8', 'resourcemanager.taskmanager-timeout=5s', 'parallelism.default=2', 'state.backend.type=rocksdb'])).toEqual([
      'rest.port=1',
      'taskmanager.numberOfTaskSlots=4',
      'taskmanager.memory.task.heap.size=64m',
      'slotmanager.number-of-slots.max=8',
      'resourcemanager.taskmanager-timeout=5s',
    ]);
  });

  it('starts one local TaskManager unless the configuration says how many', () => {
    expect(jobManagerDefines(new Map(), ['rest.port=1'])).toEqual(['rest.port=1', 'taskmanager.count=1']);
    expect(jobManagerDefines(new Map([['taskmanager.count', '0']]), ['taskmanager.count=0'])).toEqual(['taskmanager.count=0']);
    // Set in config.yaml: the JobManager reads it there too.
    expect(jobManagerDefines(new Map([['taskmanager.count', '3']]), [])).toEqual([]);
  });
});
