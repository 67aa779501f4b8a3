/* eslint-disable no-console */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { cleanup, sleep, startRelay } from '../../harness/procs.ts'
import { DHT_PROTOCOL } from '../../protocols/overlay/index.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p } from 'libp2p'

const RAW = 0x55
/** Provider records each stranger tries to store, and the relay's limits in this spec. */
const TRIED = 80
const PER_PEER = 64
const TOTAL = 100

type DhtNode = Libp2p<{ dht: KadDHT }>

/**
 * A plain libp2p node that speaks the overlay's DHT protocol as a client, with kad-dht's own defaults (it stores
 * and sends whatever it is asked to), connected to the relay and with the relay in its routing table.
 */
async function stranger (relay: RelayProc): Promise<DhtNode> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: true, peerInfoMapper: passthroughMapper }) }
  })
  await node.dial(multiaddr(relay.tcp()))
  for (let i = 0; (node.services.dht as any).routingTable.size === 0; i++) {
    if (i > 100) { throw new Error('the relay never entered the routing table') }
    await sleep(100)
  }
  return node
}

async function drain (events: AsyncIterable<unknown>): Promise<void> {
  const it = events[Symbol.asyncIterator]()
  while (!(await it.next()).done) { /* every event of the query, until it ends */ }
}

async function cidOf (text: string): Promise<CID> {
  return CID.createV1(RAW, await sha256.digest(new TextEncoder().encode(text)))
}

/** How many of the CIDs the relay lists `provider` for (asked by another node, so nothing comes from a local store). */
async function providedBy (observer: DhtNode, cids: CID[], provider: DhtNode): Promise<number> {
  let found = 0
  for (const cid of cids) {
    for await (const p of observer.services.dht.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
      if (p.name === 'PROVIDER' && p.providers.some(info => info.id.equals(provider.peerId))) {
        found++
        break
      }
    }
  }
  return found
}

describe('the DHT on a relay against strangers', function () {
  this.timeout(120_000)
  let relay: RelayProc
  const nodes: DhtNode[] = []

  before(async () => {
    relay = await startRelay({ http: false, args: ['--no-turn', '--dht-max-providers', String(TOTAL), '--dht-max-providers-per-peer', String(PER_PEER)] })
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await cleanup()
  })

  it('refuses PUT_VALUE: a valid record put by a stranger is not there for anyone to get', async () => {
    const putter = await stranger(relay)
    const getter = await stranger(relay)
    nodes.push(putter, getter)
    // a public key record (/pk/<multihash>) is the one kind kad-dht accepts by default; this key's peer never
    // connects to the relay, so the relay cannot answer from its peer store, only from what it stored
    const victim = await generateKeyPair('Ed25519')
    const key = new TextEncoder().encode('/pk/')
    const record = Uint8Array.from([...key, ...victim.publicKey.toMultihash().bytes])
    const events: string[] = []
    try {
      for await (const e of putter.services.dht.put(record, publicKeyToProtobuf(victim.publicKey), { signal: AbortSignal.timeout(15_000) })) {
        if (e.name === 'PEER_RESPONSE' || e.name === 'QUERY_ERROR') { events.push(`${e.name}${e.name === 'PEER_RESPONSE' ? `:${e.messageName}` : ''}`) }
      }
    } catch (err: any) {
      events.push(`threw ${String(err.name)}`)
    }
    const values: Uint8Array[] = []
    try {
      for await (const e of getter.services.dht.get(record, { signal: AbortSignal.timeout(15_000) })) {
        if (e.name === 'VALUE') { values.push(e.value) }
      }
    } catch {
      // NotFoundError: no node had it
    }
    const stored = !events.some(e => e.startsWith('QUERY_ERROR') || e.startsWith('threw')) && events.includes('PEER_RESPONSE:PUT_VALUE')
    console.log(`      PUT_VALUE of a valid /pk/ record: ${stored ? 'accepted' : 'refused'} (${[...new Set(events)].join(', ')}); GET_VALUE from another node: ${values.length} value(s)`)
    expect(values).to.have.length(0)
    expect(stored).to.equal(false)
  })

  it(`bounds provider records: ${PER_PEER} per peer, ${TOTAL} in all`, async () => {
    const a = await stranger(relay)
    const b = await stranger(relay)
    const observer = await stranger(relay)
    nodes.push(a, b, observer)
    const cids = { a: [] as CID[], b: [] as CID[] }
    for (const [name, node] of [['a', a], ['b', b]] as const) {
      for (let i = 0; i < TRIED; i++) {
        const cid = await cidOf(`${name} ${i}`)
        cids[name].push(cid)
        // the relay answers ADD_PROVIDER with nothing: whether it stored the record shows only in a lookup below
        await drain(node.services.dht.provide(cid, { signal: AbortSignal.timeout(10_000) })).catch(() => {})
      }
    }
    const storedA = await providedBy(observer, cids.a, a)
    const storedB = await providedBy(observer, cids.b, b)
    console.log(`      provider records stored on the relay: first stranger ${storedA} of ${TRIED}, second ${storedB} of ${TRIED} (limits ${PER_PEER} per peer, ${TOTAL} in all)`)
    expect(storedA).to.equal(PER_PEER)
    expect(storedB).to.equal(TOTAL - PER_PEER)
  })
})
