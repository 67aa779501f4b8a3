// The web app is built in the browser issue; until then there is nothing to bundle.
import { existsSync } from 'node:fs'
if (existsSync(new URL('../browser/src/main.ts', import.meta.url))) {
  await import('./bundle-app.js')
}
