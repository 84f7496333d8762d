/** The handle contract suite against every backend there is: a backend added to KEYED_STATE_BACKENDS runs it too. */
import { KEYED_STATE_BACKENDS } from './create-keyed-state-backend.ts';
import { describeChangeTracking } from './change-tracking-suite.ts';
import { describeKeyedStateBackend } from './keyed-state-backend-suite.ts';

for (const [type, factory] of Object.entries(KEYED_STATE_BACKENDS)) {
  describeKeyedStateBackend(type, factory);
  describeChangeTracking(type, factory);
}
