// Bundles the web app (browser/src/main.ts) with esbuild into dist/browser/app, next to its HTML and CSS.
import { copyFile, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}dist/browser/app`
await mkdir(out, { recursive: true })
await build({
  entryPoints: [`${root}browser/src/main.ts`],
  outfile: `${out}/main.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
  define: { global: 'globalThis', 'process.env.NODE_DEBUG': 'false' }
})
for (const f of ['index.html', 'style.css', 'icon.svg']) { await copyFile(`${root}browser/${f}`, `${out}/${f}`) }
