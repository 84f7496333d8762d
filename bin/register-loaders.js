// What every tsflink process registers before loading its TypeScript sources or a job file:
// tsx (no build step), then the hook that resolves `tsflink` to this installation. Hooks
// registered later run first, so `tsflink` is mapped before tsx resolves the file it names.
import { register as registerHooks } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
registerHooks('./tsflink-resolve-hook.js', import.meta.url);
