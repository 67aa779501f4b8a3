/**
 * The doctor's verdicts (protocols/doctor/advice.ts): from what each check saw to pass/warn/fail/skip, what was found
 * and the one sentence saying what to do. The checks themselves run against a real relay and coturn in
 * test/integration/doctor.spec.ts.
 */
import { expect } from 'aegir/chai'
import { adviseRelay, adviseStun, adviseTurn, SENTENCES, stunAnswered, turnTransport } from '../../protocols/doctor/advice.ts'
import type { GatherResult, TransportResult } from '../../protocols/doctor/index.ts'

const RELAY = '/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const host = { type: 'host', protocol: 'udp', address: '192.0.2.10' }
const srflx = { type: 'srflx', protocol: 'udp', address: '203.0.113.7', url: 'stun:198.51.100.1:3478' }

function turnResults (ok: Partial<Record<'udp' | 'tcp' | 'tls', boolean>>): TransportResult[] {
  return Object.entries(ok).map(([transport, works]) => ({
    transport: transport as 'udp' | 'tcp' | 'tls',
    url: transport === 'tls' ? 'turns:198.51.100.1:5349?transport=tcp' : `turn:198.51.100.1:3478?transport=${transport}`,
    ok: works,
    ...(works ? {} : { error: '701 TURN allocate request timed out.' })
  }))
}

describe('doctor verdicts', () => {
  it('names the transport of each STUN/TURN URL the relay hands out', () => {
    expect(turnTransport('turn:198.51.100.1:3478?transport=udp')).to.equal('udp')
    expect(turnTransport('turn:[2001:db8::1]:3478?transport=tcp')).to.equal('tcp')
    expect(turnTransport('turns:relay.example:5349?transport=tcp')).to.equal('tls')
    expect(turnTransport('turn:198.51.100.1:3478')).to.equal('udp')
  })

  it('relay: passes with a connected relay; fails with the sentence when none is, or none is known', () => {
    expect(adviseRelay([{ addr: RELAY, connected: true }])).to.deep.include({ status: 'pass', detail: 'Connected to 1 relay.' })
    const down = adviseRelay([{ addr: RELAY, connected: false, error: 'dial timed out' }])
    expect(down).to.deep.include({ status: 'fail', advice: SENTENCES.noRelay })
    expect(down.detail).to.include('dial timed out')
    expect(adviseRelay([])).to.deep.include({ status: 'fail', advice: SENTENCES.noRelayKnown })
    // given two relays, neither heard from within the deadline
    const silent = adviseRelay([], 2, 10_000)
    expect(silent).to.deep.include({ status: 'fail', advice: SENTENCES.noRelay, detail: 'Could not reach any of 2 relays (no answer within 10 s).' })
  })

  it('stun: a srflx candidate is an answer; so is a clean, complete gathering (the answer equalled the host address)', () => {
    expect(stunAnswered({ candidates: [host, srflx], errors: [], complete: true })).to.equal('srflx')
    expect(stunAnswered({ candidates: [host], errors: [], complete: true })).to.equal('same-address')
    // no answer: an icecandidateerror, or gathering that never completed, or no UDP socket to ask from
    expect(stunAnswered({ candidates: [host], errors: [{ url: 'stun:198.51.100.1:3478', errorCode: 701, errorText: 'STUN binding request timed out.' }], complete: true })).to.equal(false)
    expect(stunAnswered({ candidates: [host], errors: [], complete: false })).to.equal(false)
    expect(stunAnswered({ candidates: [{ ...host, protocol: 'tcp' }], errors: [], complete: true })).to.equal(false)
  })

  it('stun: without UDP says calls use TCP through the relay only when TURN over TCP works', () => {
    const noAnswer: GatherResult = { candidates: [host], errors: [{ url: 'stun:198.51.100.1:3478', errorCode: 701, errorText: 'STUN binding request timed out.' }], complete: true }
    const creds = { kind: 'ok' as const, urls: ['stun:198.51.100.1:3478'] }
    const withTcp = adviseStun(creds, [noAnswer], turnResults({ udp: false, tcp: true }))
    expect(withTcp).to.deep.include({ status: 'fail', advice: SENTENCES.udpBlocked })
    expect(withTcp.detail).to.include('701')
    expect(adviseStun(creds, [noAnswer], turnResults({ udp: false, tcp: false }))).to.deep.include({ status: 'fail', advice: SENTENCES.udpBlockedNoTcp })
    expect(adviseStun(creds, [{ candidates: [host, srflx], errors: [], complete: true }], [])).to.deep.include({ status: 'pass' })
    expect(adviseStun({ kind: 'none' }, [], [])).to.deep.include({ status: 'skip', detail: 'The relay offers no STUN server.' })
  })

  it('turn: a relay without TURN, or with TURN down, fails with its own sentence', () => {
    expect(adviseTurn({ kind: 'none' }, [], false)).to.deep.include({ status: 'fail', advice: SENTENCES.noTurnServer })
    expect(adviseTurn({ kind: 'down' }, [], false)).to.deep.include({ status: 'fail', advice: SENTENCES.turnDown })
    expect(adviseTurn({ kind: 'limited' }, [], false)).to.deep.include({ status: 'fail', advice: SENTENCES.rateLimited })
    const err = adviseTurn({ kind: 'error', message: 'stream reset' }, [], false)
    expect(err).to.deep.include({ status: 'fail', advice: SENTENCES.credentialError })
    expect(err.detail).to.include('stream reset')
  })

  it('turn: per transport: all, only TCP (UDP blocked, said once), only UDP, none, refused', () => {
    const creds = { kind: 'ok' as const, urls: [] }
    const all = adviseTurn(creds, turnResults({ udp: true, tcp: true, tls: true }), true)
    expect(all).to.deep.include({ status: 'pass', detail: 'A TURN allocation works over UDP, TCP, TLS.' })
    expect(all.advice).to.equal(undefined)
    expect(adviseTurn(creds, turnResults({ udp: false, tcp: true }), true)).to.deep.include({ status: 'warn', advice: SENTENCES.udpBlocked })
    // the failed STUN check already said it
    expect(adviseTurn(creds, turnResults({ udp: false, tcp: true }), false).advice).to.equal(undefined)
    expect(adviseTurn(creds, turnResults({ udp: true, tcp: false }), true)).to.deep.include({ status: 'warn', advice: SENTENCES.tcpBlocked })
    const none = adviseTurn(creds, turnResults({ udp: false, tcp: false }), false)
    expect(none).to.deep.include({ status: 'fail', advice: SENTENCES.noAllocation })
    expect(none.detail).to.include('701')
    const refused = turnResults({ udp: false, tcp: false }).map(t => ({ ...t, error: '401 Unauthorized' }))
    expect(adviseTurn(creds, refused, true)).to.deep.include({ status: 'fail', advice: SENTENCES.refused })
  })
})
