/**
 * The TURN credential format (fixed test vector, checked with openssl and Python's hmac), the rate limiter and the
 * client's checks on a relay's answer.
 */
import { createHash, createHmac } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { credentialsFrom } from '../../protocols/turn/client.ts'
import { InvalidTurnResponseError, parseTurnUsername, RateLimitedError, turnCredential, turnUserId, turnUsername, TurnUnavailableError } from '../../protocols/turn/index.ts'
import { addressKey, expandIpv6, WindowLimiter } from '../../protocols/turn/limits.ts'
import { TurnResponse } from '../../protocols/turn/pb/turn.ts'

/** The test vector of docs/protocols/turn.md. */
const VECTOR = {
  peerId: '12D3KooWAowh6uumYk3xYYFizVUp3TUvTqzWGKNGaebBAqxmRjSp',
  secret: '6f7e0b1c2d3a4958a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677',
  expiry: 1767225600,
  userId: '090c041ac659c524',
  username: '1767225600:090c041ac659c524',
  credential: '0fy7iFpg26o7Do+YIAsPBW8Dy4U='
}

describe('TURN credentials', () => {
  it('match the test vector', async () => {
    const peerId = peerIdFromString(VECTOR.peerId)
    expect(await turnUserId(peerId)).to.equal(VECTOR.userId)
    expect(await turnUsername(peerId, VECTOR.expiry)).to.equal(VECTOR.username)
    expect(await turnCredential(VECTOR.secret, VECTOR.username)).to.equal(VECTOR.credential)
    expect(parseTurnUsername(VECTOR.username)).to.deep.equal({ expiry: VECTOR.expiry, userId: VECTOR.userId })
  })

  it('agree with node:crypto for any secret and PeerId (what coturn computes)', async () => {
    const peers = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(...peers), async (secret, expiry, peerId) => {
      const userId = createHash('sha256').update(peerId.toMultihash().bytes).digest().subarray(0, 8).toString('hex')
      const username = await turnUsername(peerId, expiry)
      expect(username).to.equal(`${expiry}:${userId}`)
      expect(await turnCredential(secret, username)).to.equal(createHmac('sha1', secret).update(username).digest('base64'))
    }), { numRuns: 50 })
  })

  it('a username that is not ours does not parse', () => {
    for (const bad of ['', 'alice', '1767225600', '1767225600:', '1767225600:090C041AC659C524', 'x:090c041ac659c524', '1767225600:090c041ac659c52']) {
      expect(parseTurnUsername(bad), bad).to.equal(undefined)
    }
  })
})

describe('TURN rate limits', () => {
  it('allow `limit` requests per window and key, then say how long to wait', () => {
    let now = 1_000_000
    const limiter = new WindowLimiter(3, 60_000, 100, () => now)
    expect([1, 2, 3].map(() => limiter.take('a'))).to.deep.equal([0, 0, 0])
    expect(limiter.take('a')).to.equal(60_000)
    expect(limiter.take('b')).to.equal(0)
    now += 59_000
    expect(limiter.take('a')).to.equal(1_000)
    now += 1_000
    expect(limiter.take('a')).to.equal(0)
  })

  it('track a bounded number of keys: a flood of new keys is refused until a window ends', () => {
    let now = 0
    const limiter = new WindowLimiter(10, 60_000, 3, () => now)
    expect(['a', 'b', 'c'].map(k => limiter.take(k))).to.deep.equal([0, 0, 0])
    now += 10_000
    expect(limiter.take('d')).to.equal(50_000)
    expect(limiter.size).to.equal(3)
    now += 50_000
    expect(limiter.take('d')).to.equal(0)
    expect(limiter.size).to.equal(1)
  })

  it('key IPv4 by address and IPv6 by /64', () => {
    expect(addressKey(multiaddr('/ip4/192.0.2.7/tcp/4001'))).to.equal('192.0.2.7')
    expect(addressKey(multiaddr('/ip6/2001:db8:1:2:3::4/tcp/4001'))).to.equal('2001:db8:1:2::/64')
    expect(addressKey(multiaddr('/ip6/2001:db8:1:2::9/tcp/4001'))).to.equal('2001:db8:1:2::/64')
    expect(addressKey(multiaddr('/ip6/2001:db8::1/tcp/1'))).to.equal('2001:db8:0:0::/64')
    expect(addressKey(multiaddr('/dns4/example.com/tcp/1'))).to.equal(undefined)
    expect(expandIpv6('::ffff:192.0.2.1')).to.deep.equal(['0', '0', '0', '0', '0', 'ffff', 'c000', '201'])
    expect(expandIpv6('::1')).to.deep.equal(['0', '0', '0', '0', '0', '0', '0', '1'])
  })
})

describe('TURN client: a relay\'s answer', () => {
  const relay = peerIdFromString(VECTOR.peerId)
  const ok: TurnResponse = {
    status: TurnResponse.Status.OK,
    urls: ['stun:192.0.2.1:3478', 'turn:192.0.2.1:3478?transport=udp', 'turns:relay.example.org:5349?transport=tcp'],
    username: VECTOR.username,
    credential: VECTOR.credential,
    ttl: 3600,
    retryAfter: 0
  }

  it('is kept with its expiry on this peer\'s clock', () => {
    const creds = credentialsFrom(relay, ok, 1_000)
    expect(creds).to.deep.equal({ relay, urls: ok.urls, username: ok.username, credential: ok.credential, expiresAt: 1_000 + 3_600_000 })
  })

  it('a refusal becomes an error that says when to ask again', () => {
    const limited = (): unknown => credentialsFrom(relay, { ...ok, status: TurnResponse.Status.RATE_LIMITED, retryAfter: 42 }, 0)
    expect(limited).to.throw(RateLimitedError).with.property('retryAfter', 42)
    const down = (): unknown => credentialsFrom(relay, { ...ok, status: TurnResponse.Status.UNAVAILABLE, retryAfter: 30 }, 0)
    expect(down).to.throw(TurnUnavailableError).with.property('retryAfter', 30)
  })

  it('an answer that breaks the rules is refused', () => {
    const bad: Array<Partial<TurnResponse>> = [
      { urls: [] },
      { urls: ['http://192.0.2.1/'] },
      { urls: ['turn:192.0.2.1:3478 with spaces'] },
      { urls: ['turn:' + 'a'.repeat(300)] },
      { username: '' },
      { credential: '' },
      { ttl: 0 }
    ]
    for (const change of bad) {
      expect(() => credentialsFrom(relay, { ...ok, ...change }, 0), JSON.stringify(change)).to.throw(InvalidTurnResponseError)
    }
  })
})
