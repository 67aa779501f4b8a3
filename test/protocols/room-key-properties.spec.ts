/**
 * Property-based tests (fast-check) of the room-key parser: any text ends in a key (normaliseRoomKey), a secret
 * (parseRoomKey) or room keys (deriveRoomKeys), or in an InvalidRoomKeyError, never another exception; encoding
 * and parsing round-trip; case, separators and a pasted link do not matter; a typo in the checksum is caught.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { deriveRoomKeys, encodeRoomKey, InvalidRoomKeyError, normaliseRoomKey, parseRoomKey, ROOM_SECRET_BYTES, toHex } from '../../protocols/room-key/index.ts'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

describe('room-key properties (fast-check)', () => {
  /** Await `p`; its value, or false for InvalidRoomKeyError; any other exception fails the property. */
  async function valueOrInvalid<T> (p: Promise<T> | (() => T)): Promise<T | false> {
    try {
      return typeof p === 'function' ? p() : await p
    } catch (err: any) {
      if (err instanceof InvalidRoomKeyError) { return false }
      throw new Error(`threw ${err?.name}: ${err?.message}`)
    }
  }

  /** Any text, text made of key characters and separators (reaches the checksum), and pasted links with %-escapes. */
  const keyish = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ unit: fc.constantFrom(...ALPHABET, ...ALPHABET.toUpperCase(), '-', ' ', '\t', '0', '1'), minLength: 28, maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 32, maxLength: 32 }),
    fc.tuple(fc.constantFrom('https://x/#room=', 'https://x/?a=b&room=', 'x?room='), fc.string({ unit: fc.constantFrom(...ALPHABET, '%', 'e', '0', 'f', 'z', '&'), maxLength: 40 })).map(([a, b]) => a + b)
  )
  const secret = fc.uint8Array({ minLength: ROOM_SECRET_BYTES, maxLength: ROOM_SECRET_BYTES })

  const normalisesOrInvalid = async (text: string): Promise<void> => {
    const out = await valueOrInvalid(() => normaliseRoomKey(text))
    if (out !== false) { expect(out).to.be.a('string') }
  }

  it('normaliseRoomKey: any text gives a string or InvalidRoomKeyError', async () => {
    await fc.assert(fc.asyncProperty(keyish, normalisesOrInvalid), { numRuns: 2_000 })
  })

  it('parseRoomKey: any text gives a 16-byte secret or InvalidRoomKeyError', async () => {
    await fc.assert(fc.asyncProperty(keyish, async text => {
      const out = await valueOrInvalid(parseRoomKey(text))
      if (out !== false) { expect(out).to.have.length(ROOM_SECRET_BYTES) }
    }), { numRuns: 2_000 })
  })

  it('deriveRoomKeys: any text gives room keys or InvalidRoomKeyError', async () => {
    await fc.assert(fc.asyncProperty(keyish, async text => {
      const out = await valueOrInvalid(deriveRoomKeys(text))
      if (out !== false) { expect(out.roomId).to.have.length(16) }
    }), { numRuns: 300 })
  })

  it('encodeRoomKey then parseRoomKey gives the secret back', async () => {
    await fc.assert(fc.asyncProperty(secret, async s => {
      const key = await encodeRoomKey(s)
      expect(key).to.match(/^a[e-h][a-z2-7]{30}$/)
      expect(toHex(await parseRoomKey(key))).to.equal(toHex(s))
    }), { numRuns: 300 })
  })

  it('case, spaces, dashes and a pasted link do not change the key', async () => {
    const dressed = fc.record({
      upper: fc.boolean(),
      group: fc.integer({ min: 1, max: 8 }),
      separator: fc.constantFrom('', '-', ' ', ' - '),
      link: fc.constantFrom('', 'https://relay.example/#room=', 'https://relay.example/?lang=en&room=')
    })
    await fc.assert(fc.asyncProperty(secret, dressed, async (s, { upper, group, separator, link }) => {
      const key = await encodeRoomKey(s)
      let text = key.match(new RegExp(`.{1,${group}}`, 'g'))!.join(separator)
      if (upper) { text = text.toUpperCase() }
      text = link === '' ? `  ${text}\n` : link + encodeURIComponent(text)
      expect(normaliseRoomKey(text)).to.equal(key)
      expect(toHex(await parseRoomKey(text))).to.equal(toHex(s))
    }), { numRuns: 300 })
  })

  it('any one character changed in the checksum part is caught', async () => {
    await fc.assert(fc.asyncProperty(secret, fc.integer({ min: 28, max: 31 }), fc.constantFrom(...ALPHABET), async (s, i, ch) => {
      const key = await encodeRoomKey(s)
      fc.pre(key[i] !== ch)
      expect(await valueOrInvalid(parseRoomKey(key.slice(0, i) + ch + key.slice(i + 1)))).to.equal(false)
    }), { numRuns: 300 })
  })
})
