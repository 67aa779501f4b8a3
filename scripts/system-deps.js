// What the test suite needs from the system, in one place: each command the specs run, and the Debian package that
// provides it. `npm test` (scripts/test.js) installs what is missing when it runs as root, and says what to run
// otherwise. Adding one is one line here.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** @type {Array<{ command: string, pkg: string, why: string, env?: string }>} */
export const SYSTEM_DEPS = [
  { command: 'chromium', pkg: 'chromium', why: 'browser specs (playwright-core drives Debian\'s chromium)', env: 'CHROMIUM_PATH' },
  { command: 'firefox-esr', pkg: 'firefox-esr', why: 'the Firefox spec (puppeteer-core drives Debian\'s firefox-esr over WebDriver BiDi)', env: 'FIREFOX_PATH' },
  { command: 'ffprobe', pkg: 'ffmpeg', why: 'recording specs check the WebM files' },
  { command: 'ip', pkg: 'iproute2', why: 'the loopback-only test namespace and test hosts' },
  { command: 'nft', pkg: 'nftables', why: 'firewall rules in the test namespaces' },
  { command: 'turnserver', pkg: 'coturn', why: 'every relay runs STUN/TURN (coturn); the TURN specs use its turnutils clients' },
  { command: 'openssl', pkg: 'openssl', why: 'the TURN-over-TLS spec makes a certificate' }
]

/** Root's command folders, searched too: a user's PATH often lacks them. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/**
 * Whether `command` is an executable on PATH (or in an sbin folder).
 *
 * @param {string} command
 * @returns {boolean}
 */
export function hasCommand (command) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(d => d !== ''), ...SBIN]
  return dirs.some(dir => {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * The entries whose command is missing (an `env` variable naming an existing file stands in for its command).
 *
 * @param {typeof SYSTEM_DEPS} [deps]
 * @returns {typeof SYSTEM_DEPS}
 */
export function missingDeps (deps = SYSTEM_DEPS) {
  return deps.filter(d => !(d.env != null && process.env[d.env] != null && existsSync(process.env[d.env] ?? '')) && !hasCommand(d.command))
}

/**
 * Make sure every command the suite runs is there. As root, `apt-get update` once and `apt-get install -y` what is
 * missing (quietly, after one line saying what); otherwise nothing is installed. Returns undefined when all is
 * there, or one line for people saying what is missing and the command that installs it.
 *
 * @param {{ deps?: typeof SYSTEM_DEPS, log?: (line: string) => void }} [options]
 * @returns {string | undefined}
 */
export function ensureSystemDeps (options = {}) {
  const missing = missingDeps(options.deps)
  if (missing.length === 0) { return undefined }
  const pkgs = [...new Set(missing.map(d => d.pkg))]
  const what = missing.map(d => d.command).join(', ')
  if (process.getuid?.() !== 0) {
    return `npm test needs ${what}: run \`sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}\` (npm test as root installs them itself)`
  }
  if (!hasCommand('apt-get')) {
    return `npm test needs ${what} (Debian packages ${pkgs.join(', ')}), and this machine has no apt-get: install them, then run npm test again`
  }
  options.log?.(`npm test: installing ${pkgs.join(' ')} (for ${what}) with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    if (r.status !== 0) {
      const detail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ')
      return `npm test: \`apt-get ${args.join(' ')}\` failed (${detail || r.error?.message || `exit ${r.status}`}); install ${pkgs.join(' ')} and run npm test again`
    }
  }
  const still = missingDeps(options.deps)
  return still.length === 0 ? undefined : `npm test: ${still.map(d => d.command).join(', ')} still missing after installing ${pkgs.join(' ')}`
}
