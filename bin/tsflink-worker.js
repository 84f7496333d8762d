#!/usr/bin/env node
// Thin entry of a job's worker process, forked by the JobManager: load TypeScript and job files, hand over.
import './register-loaders.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../src/engine/cluster/worker-main.ts');
