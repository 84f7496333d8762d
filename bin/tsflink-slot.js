// Thin entry of a task slot (a worker thread of a TaskManager): load TypeScript and job files, hand over.
import './register-loaders.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../src/engine/cluster/taskmanager/slot-thread-main.ts');
