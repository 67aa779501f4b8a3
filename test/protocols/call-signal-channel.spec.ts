/**
 * The outbound signalling channel on connections that are not all they seem: a direct connection that libp2p holds as
 * open but on which no stream ever opens (a WebRTC dial to a browser that gathered no ICE candidate was reported as
 * connected), beside the relayed connection the two members met on. In-memory streams (`streamPair`).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream, streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { HelloCodec, SignalCodec } from '../../protocols/call/messages.ts'
import { SignalChannel } from '../../protocols/call/signal-channel.ts'
import type { Signal } from '../../protocols/call/pb/call.ts'
import type { Connection, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

const log = defaultLogger().forComponent('freeflow:call:test')

/** A direct connection that is open to libp2p, on which opening a stream never succeeds (it waits for the signal). */
function deadDirect (): Connection {
  return {
    status: 'open',
    limits: undefined,
    streams: [],
    newStream: async (_protocol: string, options: { signal: AbortSignal }) => new Promise((_resolve, reject) => {
      options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
    })
  } as unknown as Connection
}

/** A relayed connection whose streams arrive at `accept`. */
function relayed (accept: (stream: Stream) => void): Connection {
  const streams: Stream[] = []
  return {
    status: 'open',
    limits: { seconds: 600, bytes: 16n * 1024n * 1024n },
    streams,
    newStream: async () => {
      const [ours, theirs] = await streamPair()
      streams.push(ours)
      accept(theirs)
      return ours
    }
  } as unknown as Connection
}

describe('call signalling channel', () => {
  let channel: SignalChannel | undefined

  afterEach(async () => {
    await channel?.close()
  })

  it('a direct connection on which no stream opens is given up for the relayed one: the signals arrive there', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const roomId = crypto.getRandomValues(new Uint8Array(16))
    const arrived: Signal[] = []
    const conns = [deadDirect(), relayed((stream) => {
      void (async () => {
        const pb = pbStream(stream)
        await pb.read(HelloCodec)
        const signals = pb.pb(SignalCodec)
        while (true) { arrived.push(await signals.read()) }
      })().catch(() => {})
    })]
    const connectionManager = {
      getConnections: () => conns,
      openConnection: async () => { throw new Error('not expected: a connection is open') }
    } as unknown as ConnectionManager
    channel = new SignalChannel({
      peerId,
      roomId,
      connectionManager,
      maxMessageSize: 64 * 1024,
      openTimeout: 300,
      provenAfter: 1_000,
      log,
      onResync: () => {},
      onNoCall: () => { throw new Error('not expected: the peer takes calls') }
    })
    channel.send({ tracks: [{ streamId: 'cam', kind: 'camera' }], state: { mic: true, camera: true, screen: false } })
    const deadline = Date.now() + 5_000
    while (arrived.length === 0 && Date.now() < deadline) { await new Promise(resolve => setTimeout(resolve, 50)) }
    expect(arrived.map(s => s.tracks.map(t => t.kind)), 'the labels, sent on the relayed connection').to.deep.include(['camera'])
    expect(channel.connection?.limits, 'the stream is on the relayed connection').to.not.equal(undefined)
  })
})
