/* eslint-disable no-console */
// `npm test`: first makes sure the commands the specs run are there (scripts/system-deps.js: installed with apt-get
// when we are root), then runs the whole suite inside a fresh network namespace that has only loopback
// (unshare -n), so no WebRTC candidate and no dial can point off this machine. Prints the spec files it runs, and
// ends with one line: `N passed, M failed`.
//
//   node scripts/test.js [spec files or globs, relative to the repository; default dist/test/**/*.spec.js]
import { spawn, spawnSync } from 'node:child_process'
import { globSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { ensureSystemDeps } from './system-deps.js'

const self = fileURLToPath(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))
const extra = process.argv.slice(2)

/**
 * Stop before any spec ran: say why, then the counts line every run ends with.
 *
 * @param {string} reason
 * @returns {never}
 */
function fail (reason) {
  console.error(reason)
  console.log('0 passed, 1 failed')
  process.exit(1)
}

if (process.env.FREEFLOW_TEST_NETNS !== '1') {
  // outside the namespace: apt-get needs the network, and `ip` is needed to bring the namespace's loopback up
  const problem = ensureSystemDeps({ log: line => { console.log(line) } })
  if (problem != null) { fail(problem) }
  const probe = spawnSync('unshare', ['-n', 'true'])
  if (probe.status !== 0) {
    fail('npm test: cannot create a network namespace (unshare -n needs root or user namespaces): ' +
      (probe.stderr?.toString().trim() || probe.error?.message))
  }
  const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, self, ...extra], {
    stdio: 'inherit',
    env: { ...process.env, FREEFLOW_TEST_NETNS: '1' }
  })
  child.on('exit', (code, signal) => { process.exit(code ?? (signal != null ? 1 : 0)) })
} else {
  const patterns = extra.length > 0 ? extra : ['dist/test/**/*.spec.js']
  const files = [...new Set(patterns.flatMap(p => globSync(p, { cwd: root })))]
  if (files.length === 0) { fail(`npm test: no spec file matches ${patterns.join(' ')} (build first: npm run build)`) }
  console.log(`npm test: ${files.length} spec file${files.length === 1 ? '' : 's'}, in a loopback-only network namespace`)
  for (const f of files) { console.log(`  ${f}`) }
  // --exit: node-datachannel's native threads can keep a finished run alive
  const args = ['test', '-t', 'node', '--build', 'false', '--types', 'false', ...files.flatMap(f => ['-f', f]), '--', '--exit']
  const child = spawn(process.execPath, [fileURLToPath(new URL('../node_modules/aegir/src/index.js', import.meta.url)), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.on('data', (d) => { out += d.toString(); process.stdout.write(d) })
  child.on('exit', (code) => {
    // mocha's spec reporter: "  N passing (Xs)", "  M failing" (colours stripped)
    out = stripVTControlCharacters(out)
    const passing = [...out.matchAll(/^\s*(\d+) passing/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const failing = [...out.matchAll(/^\s*(\d+) failing/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const failed = failing > 0 || code !== 0 ? Math.max(failing, 1) : 0
    console.log(`${passing} passed, ${failed} failed`)
    process.exit(code === 0 && failing === 0 ? 0 : 1)
  })
}
