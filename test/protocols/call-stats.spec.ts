/**
 * The media path from real getStats() reports (call-stats-fixtures.ts: Chromium and werift, captured on loopback):
 * which pair is selected, each side's candidate type, transport, TURN transport and address family, the round trip,
 * and the badge's line.
 */
import { expect } from 'aegir/chai'
import { addressFamily, candidateInfo, classifyPath, pathDetail, pathLabel, selectedPair } from '../../protocols/call/stats.ts'
import * as F from './call-stats-fixtures.ts'
import type { Stat } from './call-stats-fixtures.ts'
import type { MediaRoute, StatsLike } from '../../protocols/call/stats.ts'

/** A report as getStats() returns it: a Map from id to stats entry. */
function report (list: Stat[]): StatsLike {
  return new Map(list.map(s => [s.id, s]))
}

function route (list: Stat[]): MediaRoute {
  const r = classifyPath(report(list))
  if (r == null) { throw new Error('no selected pair') }
  return r
}

describe('call media path (stats.ts)', () => {
  it('address families: IPv4, IPv6, IPv4-mapped, and unknown for mDNS names, unspecified and empty addresses', () => {
    expect(addressFamily('203.0.113.7')).to.equal(4)
    expect(addressFamily('2001:db8::1')).to.equal(6)
    expect(addressFamily('::1')).to.equal(6)
    expect(addressFamily('::ffff:192.0.2.1')).to.equal(4)
    expect(addressFamily('0b7c2e1a-9a45-4d5f-8a1b-3f1e2d4c5b6a.local')).to.equal(undefined)
    expect(addressFamily('0.0.0.0')).to.equal(undefined)
    expect(addressFamily('::')).to.equal(undefined)
    expect(addressFamily('')).to.equal(undefined)
    expect(addressFamily(undefined)).to.equal(undefined)
  })

  it('Chromium, host to host: direct over UDP, IPv4, with the round trip', () => {
    const r = route(F.chromium_host_a)
    expect(r).to.deep.include({ direct: true, relay: 'none', protocol: 'udp', family: 4 })
    expect(r.local.type).to.equal('host')
    expect(r.remote.type).to.equal('host')
    expect(r.rttMs).to.be.a('number')
    expect(pathLabel(r)).to.equal(`direct · UDP · IPv4 · ${String(r.rttMs)} ms`)
    expect(pathDetail(r)).to.equal('Direct connection: this side uses its own address, the other side its own address.')
  })

  it('Chromium through TURN over UDP: this side\'s relay candidate, and the other side sees a remote relay', () => {
    const a = route(F.chromium_relayUdp_a)
    expect(a).to.deep.include({ direct: false, relay: 'local', protocol: 'udp', relayProtocol: 'udp', family: 4 })
    expect(pathLabel(a)).to.match(/^via relay \(TURN\/UDP\) · IPv4 · \d+ ms$/)
    const b = route(F.chromium_relayUdp_b)
    expect(b).to.deep.include({ direct: false, relay: 'remote', protocol: 'udp', family: 4 })
    expect(b.relayProtocol).to.equal(undefined)
    expect(pathLabel(b)).to.match(/^via their relay \(TURN\) · UDP · IPv4 · \d+ ms$/)
  })

  it('Chromium through TURN over TCP: the TURN transport is TCP, the relayed one UDP', () => {
    const a = route(F.chromium_relayTcp_a)
    expect(a).to.deep.include({ direct: false, relay: 'local', protocol: 'udp', relayProtocol: 'tcp' })
    expect(pathLabel(a)).to.match(/^via relay \(TURN\/TCP\) · IPv4 · \d+ ms$/)
    expect(pathDetail(a)).to.equal('Through a TURN relay: this side uses a TURN relay, the other side its own address.')
  })

  it('Chromium, remote candidate given as an mDNS name: learnt as peer-reflexive with its address hidden; the family is this side\'s', () => {
    const r = route(F.chromium_mdns_a)
    expect(r.remote).to.deep.include({ type: 'prflx', family: undefined })
    expect(r).to.deep.include({ direct: true, family: 4 })
    // with neither family known, the label says why
    const hidden: MediaRoute = { ...r, family: undefined, local: { ...r.local, family: undefined }, remote: { ...r.remote, mdns: true } }
    expect(pathLabel(hidden)).to.match(/^direct · UDP · IP version hidden \(mDNS\)/)
    expect(candidateInfo({ candidateType: 'host', protocol: 'udp', address: '0b7c2e1a-9a45-4d5f-8a1b-3f1e2d4c5b6a.local' })).to.deep.equal({ type: 'host', protocol: 'udp', family: undefined, mdns: true })
  })

  it('Chromium while gathering, before any pair is selected: no path', () => {
    expect(classifyPath(report(F.chromium_relayUdp6_a))).to.equal(undefined)
  })

  it('werift (the recorder): its transport names the selected pair', () => {
    const r = route(F.werift_host)
    expect(r).to.deep.include({ direct: true, relay: 'none', protocol: 'udp', family: 4 })
    expect(r.rttMs).to.equal(Math.round(F.werift_host.find(s => s.type === 'candidate-pair')?.currentRoundTripTime * 1000))
  })

  it('without a transport entry (Firefox reports none), the nominated pair that succeeded is the one', () => {
    const noTransport = F.werift_host.filter(s => s.type !== 'transport')
    const pair = selectedPair(report(noTransport))
    expect(pair?.type).to.equal('candidate-pair')
    expect(route(noTransport)).to.deep.include({ direct: true, protocol: 'udp', family: 4 })
    // a pair still in progress is not the path
    const inProgress = noTransport.map(s => s.type === 'candidate-pair' ? { ...s, state: 'in-progress' } : s)
    expect(classifyPath(report(inProgress))).to.equal(undefined)
  })

  it('the transport\'s selected pair wins over another nominated, succeeded pair listed first', () => {
    const list = F.chromium_relayTcp_b
    const chosen = list.find(s => s.type === 'candidate-pair')
    // an older pair, as after an ICE restart: also nominated and succeeded, but no longer the transport's choice
    const older = { ...chosen, id: 'CPold', currentRoundTripTime: 0.25 }
    const r = route([older, ...list])
    expect(selectedPair(report([older, ...list]))).to.equal(chosen)
    expect(r.rttMs).to.equal(Math.round(chosen?.currentRoundTripTime * 1000))
  })
})
