/** One slot the JobManager gave a job: which TaskManager, and where its port is. Plain data: it crosses IPC and REST. */
export interface SlotAssignment {
  readonly taskManagerId: string;
  readonly host: string;
  readonly port: number;
}
