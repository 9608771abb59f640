// The layering of flowrun's folders (architecture-layers.cjs), checked on every `npm test`
// (test/architecture/layering.test.ts).
const layers = require('./architecture-layers.cjs');

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A path regex matching a folder's files, or exactly one root module. */
const pathOf = (name) => (name.endsWith('.ts') ? `^${escape(name)}$` : `^${escape(name)}/`);
const OURS = '^(protocol|blobstore|src)/';

const forbidden = [
  {
    name: 'no-circular',
    comment: 'Modules import each other in one direction only. Checked on the compiled JavaScript: type-only imports, which vanish there, order nothing.',
    severity: 'error',
    from: { path: '^dist/' },
    to: { circular: true },
  },
  ...Object.entries(layers)
    .filter(([, allowed]) => !allowed.includes('*'))
    .map(([name, allowed]) => ({
      name: `layer:${name}`,
      comment: `${name} may import only: ${allowed.join(', ') || 'nothing of ours'} (ARCHITECTURE.md).`,
      severity: 'error',
      from: { path: pathOf(name) },
      to: { path: OURS, pathNot: [pathOf(name), ...allowed.map(pathOf)] },
    })),
  {
    name: 'no-unknown-folder',
    comment: 'Every module belongs to a folder of the layering table (add a new folder to it, and to ARCHITECTURE.md).',
    severity: 'error',
    from: { path: OURS, pathNot: Object.keys(layers).map(pathOf) },
    to: {},
  },
];

module.exports = {
  forbidden,
  options: {
    // TypeScript 7's package has no compiler API for the default parser; swc reads TypeScript.
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/|^dist/(test|bench|examples|scripts)/|\\.d\\.ts$' },
  },
};
