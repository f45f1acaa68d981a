// Builds the duty officer's console into dist/: one ES module bundle (the console's TypeScript with
// Leaflet and uPlot inside), one stylesheet, index.html. Nothing is fetched at run time: the
// gateway serves dist/ as it is (gateway/src/api/console.ts). `npm run build` runs this.
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, 'dist')

/** Build the console into `outdir` (dist/ by default); resolves to the output directory. */
export async function buildConsole(outdir = out) {
  await mkdir(outdir, { recursive: true })
  await build({
    absWorkingDir: here,
    entryPoints: { app: 'src/main.ts' },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    outdir,
    // Leaflet's stylesheet names a few images; inline them so the bundle is self-contained.
    loader: { '.png': 'dataurl', '.svg': 'dataurl' },
    logLevel: 'warning',
  })
  await copyFile(join(here, 'index.html'), join(outdir, 'index.html'))
  return outdir
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildConsole()
