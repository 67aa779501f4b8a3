// `npm test`: the whole suite runs inside a fresh network namespace that has only loopback (unshare -n), so no
// WebRTC candidate and no dial can point off this machine. Ends with one line: `N passed, M failed`.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))
const extra = process.argv.slice(2)

if (process.env.FREEFLOW_TEST_NETNS !== '1') {
  const probe = spawnSync('unshare', ['-n', 'true'])
  if (probe.status !== 0) {
    console.error('npm test: cannot create a network namespace (unshare -n needs root or user namespaces): ' +
      (probe.stderr?.toString().trim() || probe.error?.message))
    console.error('0 passed, 1 failed')
    process.exit(1)
  }
  const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, self, ...extra], {
    stdio: 'inherit',
    env: { ...process.env, FREEFLOW_TEST_NETNS: '1' }
  })
  child.on('exit', (code, signal) => { process.exit(code ?? (signal != null ? 1 : 0)) })
} else {
  const files = extra.length > 0 ? extra : ['dist/test/**/*.spec.js']
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
    out = out.replace(/\x1b\[[0-9;]*m/g, '')
    const passing = [...out.matchAll(/^\s*(\d+) passing/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const failing = [...out.matchAll(/^\s*(\d+) failing/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const failed = failing > 0 || code !== 0 ? Math.max(failing, 1) : 0
    console.log(`${passing} passed, ${failed} failed`)
    process.exit(code === 0 && failing === 0 ? 0 : 1)
  })
}
