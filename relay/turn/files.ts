/** TURN's files in the relay's data directory, and the binary in PATH. */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** 32 random bytes, hex: coturn reads the secret as text, and uses its bytes as the HMAC key. */
const SECRET_BYTES = 32

/** The binary's path: as given when it has a slash, else the first executable of that name in PATH. */
export async function findBinary (name: string): Promise<string | undefined> {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(d => d !== '').map(d => join(d, name))
  for (const file of candidates) {
    try {
      await access(file, constants.X_OK)
      return file
    } catch {
      // not there, or not executable: the next one
    }
  }
  return undefined
}

/**
 * The shared secret in `<dir>/secret`, created once with mode 0600 (and the folder 0700). It stays across restarts,
 * so that credentials handed out before a restart keep working.
 */
export async function loadTurnSecret (dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const file = join(dir, 'secret')
  try {
    const text = (await readFile(file, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(text)) { return text }
    throw new Error(`cannot read the TURN secret in ${file}: not 64 hex digits`)
  } catch (err: any) {
    if (err.code !== 'ENOENT') { throw err }
  }
  const secret = randomBytes(SECRET_BYTES).toString('hex')
  await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' })
  return secret
}

/** Write a file only its owner can read, replacing it whole (write beside it, then rename). */
export async function writePrivate (file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, text, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
}
