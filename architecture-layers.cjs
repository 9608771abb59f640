// What each folder of flowrun may import (besides itself): the one source of the layering that
// .dependency-cruiser.cjs enforces and ARCHITECTURE.md shows (a test keeps them equal).

/** Each folder (or root module) and what of ours it may import besides itself. */
module.exports = {
  'protocol': [],
  'blobstore': ['protocol'],
  'src/errors.ts': [],
  'src/log.ts': [],
  'src/event-loop.ts': [],
  'src/options.ts': ['protocol'],
  'src/values': ['protocol'],
  'src/signals': [],
  'src/transport': ['protocol', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/rpc': ['protocol', 'src/signals', 'src/transport', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/calls': ['protocol', 'src/errors.ts'],
  'src/flow': ['protocol', 'src/values', 'src/errors.ts'],
  'src/routing': ['protocol', 'src/flow', 'src/calls', 'src/values', 'src/errors.ts'],
  'src/config': ['protocol', 'blobstore', 'src/routing', 'src/values', 'src/errors.ts'],
  'src/executor': ['protocol', 'src/signals', 'src/flow', 'src/calls', 'src/errors.ts'],
  'src/statestore': ['protocol', 'src/config', 'src/errors.ts', 'src/log.ts', 'src/event-loop.ts'],
  'src/runs': ['protocol', 'blobstore', 'src/signals', 'src/values', 'src/executor', 'src/flow', 'src/calls', 'src/statestore', 'src/errors.ts', 'src/options.ts', 'src/log.ts', 'src/event-loop.ts'],
  'src/cluster': ['protocol', 'src/statestore', 'src/runs', 'src/config', 'src/log.ts', 'src/errors.ts'],
  'src/api': ['protocol', 'blobstore', 'src/runs', 'src/calls', 'src/rpc', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/plugins': ['protocol', 'blobstore', 'src/api', 'src/calls', 'src/config', 'src/flow', 'src/rpc', 'src/signals', 'src/transport', 'src/values', 'src/errors.ts', 'src/options.ts', 'src/log.ts', 'src/event-loop.ts'],
  'src/client': ['protocol', 'src/rpc', 'src/transport', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/sdk': ['protocol', 'src/rpc', 'src/transport', 'src/client', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/serve': ['protocol', 'src/api', 'src/cluster', 'src/config', 'src/rpc', 'src/transport', 'src/errors.ts', 'src/options.ts', 'src/log.ts'],
  'src/runtime.ts': ['protocol', 'blobstore', 'src/api', 'src/calls', 'src/client', 'src/cluster', 'src/config', 'src/executor', 'src/flow', 'src/plugins', 'src/routing', 'src/rpc', 'src/runs', 'src/statestore', 'src/errors.ts', 'src/log.ts', 'src/event-loop.ts'],
  'src/index.ts': ['protocol', 'blobstore', 'src/calls', 'src/client', 'src/config', 'src/flow', 'src/runs', 'src/runtime.ts', 'src/statestore', 'src/errors.ts', 'src/log.ts'],
  'src/cli': ['*'],
  // The browser's code (TSX, which the swc parser of dependency-cruiser does not read): only types from
  // protocol/, checked by test/architecture/dashboard-imports.test.ts, so no schema code is bundled.
  'dashboard': ['protocol'],
  'scripts': ['protocol', 'src/log.ts', 'src/client', 'bench/lib'],
};

