/**
 * Consent at the protocol level, between real processes: a recorder announces itself on the room's sealed topic
 * and in its handshakes, so a member present when recording starts and a member who joins later both see it, and
 * nobody sees it once the recorder is gone. The browser's indicator is tested in record-browser.spec.ts.
 */
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { cleanup, Proc, run, startPeer, startRelay, tempDir } from '../../harness/procs.ts'
import type { FreeflowEvent, RelayProc } from '../../harness/procs.ts'

describe('everyone sees who records the room', function () {
  this.timeout(90_000)
  let relay: RelayProc
  let key: string
  let ana: Proc
  let recorder: Proc
  let recorderId: string
  let late: Proc

  before(async () => {
    relay = await startRelay({ http: false })
    key = (await run(['room', 'new'])).stdout.trim()
    ana = startPeer(key, 'ana', [relay.tcp()])
    await ana.waitFor('ready', e => e.event === 'ready')
  })

  after(cleanup)

  it('a member already in the room is told at once that a recorder joined and records', async () => {
    const out = tempDir('freeflow-consent-')
    recorder = new Proc('recorder', ['record', key, '--json', '--name', 'minutes', '--bootstrap', relay.tcp(), '--out', out, '--data-dir', join(out, '.identity')])
    recorderId = (await recorder.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    const joined = await ana.waitFor('the recorder joining', e => e.event === 'peer:join' && e.peerId === recorderId, 45_000)
    expect(joined.role).to.equal('recorder')
    expect(joined.name).to.equal('minutes')
    // it may be seen joining before it said it records; then the update follows
    const recording: FreeflowEvent = joined.recording != null ? joined : await ana.waitFor('the recording', e => e.event === 'peer:update' && e.peerId === recorderId && e.recording != null, 10_000)
    expect(recording.recording.since).to.be.a('number')
    expect(Math.abs(recording.recording.since - Date.now())).to.be.below(60_000)
  })

  it('a member who joins later learns it with the recorder\'s arrival, not after it', async () => {
    late = startPeer(key, 'late', [relay.tcp()])
    const joined = await late.waitFor('the recorder', e => e.event === 'peer:join' && e.peerId === recorderId, 45_000)
    expect(joined.role).to.equal('recorder')
    expect(joined.recording).to.not.equal(null)
    expect(late.of('peer:update').filter(e => e.peerId === recorderId)).to.have.lengthOf(0)
  })

  it('once the recorder stops, it is gone for everyone and a participant is never shown as recording', async () => {
    recorder.kill('SIGINT')
    expect((await recorder.exited).code).to.equal(0)
    const id = recorderId
    const lefts = await Promise.all([ana, late].map(async p => p.waitFor('the recorder leaving', e => e.event === 'peer:leave' && e.peerId === id, 20_000)))
    for (const left of lefts) { expect(left.reason).to.equal('left') }
    const anaId = (await ana.waitFor('ready', e => e.event === 'ready')).peerId
    const seenAna = await late.waitFor('ana', e => e.event === 'peer:join' && e.peerId === anaId, 30_000)
    expect(seenAna.role).to.equal('participant')
    expect(seenAna.recording).to.equal(null)
  })
})
