#!/usr/bin/env node
// Thin entry: let Node load the TypeScript sources directly (no build step), then hand over.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
