#!/usr/bin/env node
// Thin entry: let Node load the TypeScript sources and job files directly (no build step), then hand over.
import './register-loaders.js';

// The AWS SDK warns on Node 20 about its own future releases; package-lock.json pins the one we use.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
