#!/usr/bin/env node
// Thin entry of a job's worker process, forked by the JobManager: load TypeScript, hand over.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/engine/cluster/worker-main.ts');
