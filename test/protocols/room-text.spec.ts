/**
 * Names and chat texts as they may be shown (protocols/room/text.ts): for any input, nothing that moves a terminal's
 * cursor, reorders a line or hides, and cleaning twice changes nothing.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { safeName, safeText, tellApart } from '../../protocols/room/text.ts'

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/
const anyText = fc.string({ unit: 'binary', maxLength: 200 })

describe('names and texts as shown', () => {
  it('a name: one line, nothing unsafe, trimmed; cleaning it again changes nothing', () => {
    fc.assert(fc.property(anyText, (s) => {
      const name = safeName(s)
      expect(name).to.not.match(UNSAFE)
      expect(name).to.not.match(/[\n\t]/)
      expect(name).to.equal(name.trim())
      expect(safeName(name)).to.equal(name)
    }))
  })

  it('a text: line breaks kept as \\n, nothing unsafe; cleaning it again changes nothing', () => {
    fc.assert(fc.property(anyText, (s) => {
      const text = safeText(s)
      expect(text).to.not.match(UNSAFE)
      expect(text).to.not.include('\r')
      expect(safeText(text)).to.equal(text)
    }))
    expect(safeText('a\r\nb\rc\nd')).to.equal('a\nb\nc\nd')
  })

  it('what a person wrote stays readable', () => {
    expect(safeName('  Zoë   \u202Eevil\u001b[2J ')).to.equal('Zoë evil [2J')
    expect(safeText('hi \u001b]0;title\u0007 there 👋')).to.equal('hi ]0;title there 👋')
  })

  it('members with one name (cleaned, NFC, any case) are told apart by their PeerIds\' ends; a unique one is plain', () => {
    const a = { peerId: 'peerAAAAAA111111', name: 'Sam' }
    const b = { peerId: 'peerBBBBBB222222', name: ' s\u200Bam ' }
    const c = { peerId: 'peerCCCCCC333333', name: 'Zoe\u0301' }
    const d = { peerId: 'peerDDDDDD444444', name: 'Zo\u00e9' }
    const e = { peerId: 'peerEEEEEE555555', name: 'S\u0430m' } // Cyrillic а: a look-alike, out of scope
    const shown = tellApart([a, b, c, d, e])
    expect([a, b, c, d, e].map(shown)).to.deep.equal(['Sam (…111111)', ' s\u200Bam  (…222222)', 'Zoe\u0301 (…333333)', 'Zo\u00e9 (…444444)', 'S\u0430m'])
    expect(tellApart([a, e])(a)).to.equal('Sam')
    // one who left (a history line) is told apart from a present one with its name, not from itself
    expect(tellApart([a])({ peerId: 'peerFFFFFF666666', name: 'SAM' })).to.equal('SAM (…666666)')
    expect(tellApart([a, a])(a)).to.equal('Sam')
  })
})
