// The option table's section "General": the options the loader reads itself (--config,
// --litefs-config) and --standalone. schema.ts puts the sections together, in order, into
// OPTIONS; --help and docs/configuration.md show each under its heading.

import { boolean, text } from '../kinds.js';
import { loaderOption, option, section } from '../option.js';

export const GENERAL_OPTIONS = section('General', [
  loaderOption(
    {
      name: 'config',
      kind: text('FILE', 'a file path'),
      help: 'YAML or JSON file with the same options, keys in camelCase (maxLag: 10s). Unknown keys are errors.',
    },
    false,
  ),
  loaderOption({
    name: 'litefs-config',
    kind: text('FILE', 'a file path, or none'),
    defaultHelp: './litefs.yml, ~/litefs.yml, /etc/litefs.yml (first found)',
    help: `litefs.yml to read defaults and warnings from, with LiteFS's \${...} expansion; none disables it.`,
  }),
  option({
    name: 'standalone',
    kind: boolean(),
    help: 'No LiteFS (local development): always primary, each --db is a plain file under --mount-dir, no peers.',
  }),
]);
