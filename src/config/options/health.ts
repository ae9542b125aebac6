// The option table's section "Health and logs": the health API and the logs. schema.ts puts the
// sections together, in order, into OPTIONS; --help and docs/configuration.md show each under
// its heading.

import { healthAddr, oneOf } from '../kinds.js';
import { option, section } from '../option.js';

export const HEALTH_OPTIONS = section('Health and logs', [
  option({
    name: 'health-addr',
    kind: healthAddr(),
    default: ':9090',
    help: 'Address of the health API (GET /health, /status, /metrics); off disables it.',
  }),
  option({
    name: 'log-format',
    kind: oneOf(['logfmt', 'json', 'pretty'] as const),
    default: 'logfmt',
    help: 'Log line format (stderr).',
  }),
  option({
    name: 'log-level',
    kind: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    default: 'info',
    help: 'Lowest level logged.',
  }),
]);
