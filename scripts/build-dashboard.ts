// `npm run build` bundles the dashboard (docs/dashboard.md) after tsc: one minified JS and one CSS
// file, named by their content hash, and the index.html that loads them, into dist/dashboard/.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'dist/dashboard');

/** The page: no inline script or style, so the server's Content-Security-Policy can forbid them. */
function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>flowrun</title>
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The flowrun dashboard needs JavaScript.</noscript>
</body>
</html>
`;
}

/** The bundle's output file ending with `extension`: the entry's, not a chunk loaded later. */
function outputNamed(outputs: Record<string, { entryPoint?: string }>, extension: string): string {
  const file = Object.keys(outputs).find((name) => name.endsWith(extension) && (extension !== '.js' || outputs[name]!.entryPoint !== undefined));
  if (file === undefined) throw new Error(`esbuild wrote no ${extension} file`);
  return basename(file);
}

async function main(): Promise<void> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(join(OUT, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['dashboard/src/main.tsx'],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'dashboard/tsconfig.json',
    outdir: join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    // Code loaded only when needed (the YAML parser of the New run page) goes to chunks of its own.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = result.metafile.outputs;
  await writeFile(join(OUT, 'index.html'), indexHtml(outputNamed(outputs, '.js'), outputNamed(outputs, '.css')));
}

main().catch((error: unknown) => {
  process.stderr.write(`dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
