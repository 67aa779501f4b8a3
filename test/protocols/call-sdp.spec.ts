/**
 * What the call code does to SDP (withStartBitrate, originOf) and the video budget by call size (budget.ts).
 */
import { expect } from 'aegir/chai'
import { MESH_VIDEO_BUDGET, videoBudgetFor, videoParameters } from '../../protocols/call/budget.ts'
import { offeredDirection, originOf, withStartBitrate } from '../../protocols/call/sdp.ts'

/** The shape of a browser's offer: audio with fmtp, video codecs with and without fmtp, rtx, red and ulpfec. */
const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:99 red/90000',
  'a=rtpmap:100 ulpfec/90000',
  'a=rtpmap:101 H264/90000',
  'a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  ''
].join('\r\n')

describe('call SDP and video budget', () => {
  it('withStartBitrate gives every video codec a start bitrate, and leaves audio alone', () => {
    const out = withStartBitrate(OFFER, 1_500).split('\r\n')
    // VP8 had no fmtp line: one follows its rtpmap
    expect(out[out.indexOf('a=rtpmap:96 VP8/90000') + 1]).to.equal('a=fmtp:96 x-google-start-bitrate=1500')
    expect(out).to.include('a=fmtp:98 profile-id=0;x-google-start-bitrate=1500')
    expect(out).to.include('a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1500')
    // the retransmission and redundancy formats carry no video of their own; rtx's fmtp is a video fmtp all the same
    expect(out.filter(l => l.startsWith('a=fmtp:99') || l.startsWith('a=fmtp:100'))).to.deep.equal([])
    expect(out).to.include('a=fmtp:111 minptime=10;useinbandfec=1')
    expect(out.filter(l => l.includes('x-google-start-bitrate')).every(l => /^a=fmtp:(96|97|98|101) /.test(l))).to.equal(true)
  })

  it('withStartBitrate applied twice changes nothing more, and an SDP without video comes back as it was', () => {
    const once = withStartBitrate(OFFER, 800)
    expect(withStartBitrate(once, 800)).to.equal(once)
    const audioOnly = OFFER.slice(0, OFFER.indexOf('m=video'))
    expect(withStartBitrate(audioOnly, 800)).to.equal(audioOnly)
  })

  it('originOf reads the o= line, and a description without one has none', () => {
    expect(originOf(OFFER)).to.equal('- 4611731400430051336 2 IN IP4 127.0.0.1')
    expect(originOf(withStartBitrate(OFFER, 1_000))).to.equal(originOf(OFFER))
    expect(originOf('v=0\r\ns=-\r\n')).to.equal('')
  })

  it('the video budget shrinks as the call grows, and is the same within each row', () => {
    expect(videoBudgetFor(1)).to.deep.equal({ scaleDownBy: 1, maxKbps: 2_500 })
    expect(videoBudgetFor(2)).to.deep.equal({ scaleDownBy: 1, maxKbps: 2_500 })
    expect(videoBudgetFor(3)).to.deep.equal({ scaleDownBy: 1.5, maxKbps: 1_200 })
    expect(videoBudgetFor(4)).to.deep.equal(videoBudgetFor(5))
    expect(videoBudgetFor(5)).to.deep.equal({ scaleDownBy: 2, maxKbps: 700 })
    expect(videoBudgetFor(6)).to.deep.equal({ scaleDownBy: 3, maxKbps: 400 })
    expect(videoBudgetFor(50)).to.deep.equal({ scaleDownBy: 3, maxKbps: 400 })
    for (let n = 2; n < 20; n++) {
      expect(videoBudgetFor(n + 1).maxKbps).to.be.at.most(videoBudgetFor(n).maxKbps)
      expect(videoBudgetFor(n + 1).scaleDownBy).to.be.at.least(videoBudgetFor(n).scaleDownBy)
    }
    expect(MESH_VIDEO_BUDGET.at(-1)?.upTo).to.equal(Infinity)
  })

  it('a camera sender gets the budget and holds its resolution only while told to; a screen always holds it', () => {
    const budget = videoBudgetFor(4)
    const held = videoParameters({ encodings: [] } as any, 'camera', budget, true)
    expect(held.encodings[0]).to.deep.include({ scaleResolutionDownBy: 2, maxBitrate: 700_000 })
    expect(held.degradationPreference).to.equal('maintain-resolution')
    expect(videoParameters({ encodings: [{ active: true }] } as any, 'camera', budget, false)).to.deep.include({ degradationPreference: 'balanced' })
    const screen = videoParameters({ encodings: [{}] } as any, 'screen', budget, false)
    expect(screen.degradationPreference).to.equal('maintain-resolution')
    expect(screen.encodings[0].maxBitrate).to.equal(undefined)
  })

  it('offeredDirection reads the direction of the m-section with a mid, sendrecv when it says none', () => {
    const sdp = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=sendrecv', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1', 'a=recvonly',
      'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:10', 'a=inactive', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v2', ''].join('\r\n')
    expect(offeredDirection(sdp, '0')).to.equal('sendrecv')
    expect(offeredDirection(sdp, '1')).to.equal('recvonly')
    expect(offeredDirection(sdp, '10'), 'not a prefix match').to.equal('inactive')
    expect(offeredDirection(sdp, 'v2')).to.equal('sendrecv')
    expect(offeredDirection(sdp, '7'), 'no such m-section').to.equal('inactive')
    expect(offeredDirection(OFFER, '0'), 'no mids at all').to.equal('inactive')
  })
})
