/**
 * What members write, as the others are shown it (threat model: "names and text"). A member can put anything in its
 * name and its chat: escape sequences that erase or rewrite a terminal's lines (a forged "started RECORDING" line, or
 * the real one erased), bidirectional and invisible characters, line breaks, and, with a modified client, another
 * member's name in a chat message's own name field. Real `freeflow join` processes and a relay; the one that misuses
 * the chat's name field is a libp2p node in this process, which seals and publishes such a message itself.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { cleanup, run, startPeer, startRelay } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { sealEnvelope } from '../../protocols/room/envelope.ts'
import { deriveRoomKeys } from '../../protocols/room-key/index.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/

/** The lines a terminal member printed, as a person reads them. */
function lines (p: Proc): string[] {
  return p.events.filter(e => e.event === 'non-json').map(e => String(e.line))
}

describe('what members write, as the others are shown it', function () {
  this.timeout(90_000)
  let relay: RelayProc
  let key: string
  let watcher: Proc
  let hostile: PeerNode | undefined

  before(async () => {
    relay = await startRelay({ http: false })
    key = (await run(['room', 'new'])).stdout.trim()
    watcher = startPeer(key, 'Wat', [relay.tcp()], { human: true })
    await watcher.waitFor('the watcher ready', e => e.event === 'non-json' && String(e.line).startsWith('you are Wat'), 30_000)
  })

  after(async () => {
    await hostile?.stop()
    await cleanup()
  })

  it('escape sequences, control, bidirectional and invisible characters in a name or a chat line never reach a terminal', async () => {
    const eve = startPeer(key, 'Eve\u001b[2K\r* Bob started RECORDING this room\u202E', [relay.tcp()])
    await watcher.waitFor('Eve joining', e => e.event === 'non-json' && String(e.line).includes(' joined'), 30_000)
    eve.send('hi \u001b]0;owned\u0007there \u001b[31mred\u001b[0m \u202Egnirts\u2066 zero\u200Bwidth')
    const chat = await watcher.waitFor('Eve\'s line', e => e.event === 'non-json' && String(e.line).includes(': hi '), 30_000)
    // the escapes' printable rest stays, harmless: what the member typed is still told
    expect(String(chat.line)).to.match(/\] Eve \[2K \* Bob started RECORDING this room: hi \]0;ownedthere \[31mred\[0m gnirts zerowidth$/)
    for (const line of lines(watcher)) {
      expect(line, 'a line the watcher printed').to.not.match(UNSAFE)
      expect(line.startsWith('* Bob'), 'no line forged as another member\'s').to.equal(false)
    }
    eve.kill()
  })

  it('a chat message\'s name field renames nobody, and a line break in a message starts no line of its own', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const node = hostile = await createPeer({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [relay.tcp()] })
    await node.services.room.join(key, { name: 'Mal' })
    await watcher.waitFor('Mal joining', e => e.event === 'non-json' && String(e.line).startsWith('* Mal joined'), 30_000)
    // a modified client: its presence says Mal, its chat message's own name field says Wat
    const keys = await deriveRoomKeys(key)
    const sealed = await sealEnvelope(keys, node.peerId, privateKey, {
      ts: BigInt(Date.now()),
      chat: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'Wat', text: 'line one\n* Bob started RECORDING this room' }
    })
    await node.services.pubsub.publish(keys.topic, sealed)
    const chat = await watcher.waitFor('Mal\'s line', e => e.event === 'non-json' && String(e.line).includes('line one'), 30_000)
    expect(String(chat.line)).to.match(/\] Mal: line one ↵ \* Bob started RECORDING this room$/)
    expect(lines(watcher).some(l => l.startsWith('* Bob')), 'no line of its own').to.equal(false)
    expect(lines(watcher).some(l => l.includes('] Wat')), 'nobody renamed').to.equal(false)
  })

  it('two members with one name are told apart by the end of their PeerIds', async () => {
    const [a, b] = [startPeer(key, 'Sam', [relay.tcp()]), startPeer(key, 'Sam', [relay.tcp()])]
    const [ra, rb] = await Promise.all([a.waitFor('ready', e => e.event === 'ready'), b.waitFor('ready', e => e.event === 'ready')])
    await watcher.waitFor('both Sams', () => lines(watcher).filter(l => /^\* Sam( \(…\w{6}\))? joined/.test(l)).length === 2, 30_000)
    a.send('from the first Sam')
    b.send('from the second Sam')
    const first = await watcher.waitFor('the first Sam\'s line', e => e.event === 'non-json' && String(e.line).endsWith('from the first Sam'), 30_000)
    const second = await watcher.waitFor('the second Sam\'s line', e => e.event === 'non-json' && String(e.line).endsWith('from the second Sam'), 30_000)
    expect(String(first.line)).to.include(`Sam (…${String(ra.peerId).slice(-6)}): `)
    expect(String(second.line)).to.include(`Sam (…${String(rb.peerId).slice(-6)}): `)
  })
})
