/* eslint-disable no-console -- the spec prints each file's measured duration against the truth, and page errors, for the log */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { cpSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { MediaStream, MediaStreamTrack, RtpHeader, RtpPacket } from 'werift'
import { FAKE_CAMERA_FPS, joinAs, launch, participant } from '../../harness/browser.ts'
import { durationOf, ffprobe, ffprobeWarnings, mediaEnd } from '../../harness/ffprobe.ts'
import { cleanup, Proc, run, sleep, startRelay, tempDir } from '../../harness/procs.ts'
import { loadIdentity } from '../../node/identity.ts'
import { createPeer } from '../../node/peer.ts'
import { RTCPeerConnectionForNode } from '../../node/werift-pc.ts'
import type { Participant } from '../../harness/browser.ts'
import type { FreeflowEvent, RelayProc } from '../../harness/procs.ts'
import type { RecorderNode } from '../../node/record.ts'
import type { Browser, Page } from 'playwright-core'

async function peerIdOf (page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString())
}

/** CPU time a process has used so far (user + system), from /proc. */
function cpuSeconds (p: Proc): number {
  const fields = readFileSync(`/proc/${p.child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function startRecorder (key: string, relay: RelayProc, out: string, extra: string[] = []): Proc {
  return new Proc('recorder', ['record', key, '--json', '--name', 'Rec', '--bootstrap', relay.tcp(), '--out', out,
    '--data-dir', join(tempDir(), 'rec'), '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit', '--listen', '/webrtc', ...extra])
}

describe('freeflow record', function () {
  this.timeout(240_000)
  let relay: RelayProc
  let browser: Browser
  let key: string
  let url: string
  const people: Participant[] = []

  before(async () => {
    relay = await startRelay()
    browser = await launch()
    key = (await run(['room', 'new'])).stdout.trim()
    url = `${relay.http}/#room=${key}`
  })

  after(async () => {
    for (const p of people) {
      const errors = p.logs.filter(l => l.includes('pageerror'))
      if (errors.length > 0) { console.log(errors.join('\n')) }
    }
    await browser?.close()
    await cleanup()
  })

  it('bad input: one line on stderr and exit code 2', async () => {
    const out = tempDir()
    const bootstrap = relay.tcp()
    const cases: Array<[string, string[], RegExp]> = [
      ['malformed key', ['record', 'not-a-room-key', '--bootstrap', bootstrap, '--out', out], /key/i],
      ['bad bootstrap', ['record', key, '--bootstrap', '/ip4/127.0.0.1/tcp/4001', '--out', out], /bootstrap|p2p/i],
      ['unwritable --out', ['record', key, '--bootstrap', bootstrap, '--out', join(out, 'a-file', 'below')], /--out/]
    ]
    writeFileSync(join(out, 'a-file'), 'not a folder')
    for (const [what, args, says] of cases) {
      const r = await run(args)
      expect(r.code, `${what}: ${r.stderr}`).to.equal(2)
      const lines = r.stderr.trim().split('\n')
      expect(lines, `${what}: ${r.stderr}`).to.have.lengthOf(1)
      expect(lines[0]).to.match(/^freeflow: /).and.to.match(says)
      expect(r.stdout).to.equal('')
    }
  })

  it('records each page\'s camera and microphone to its own WebM file, a shared screen, closes a leaver\'s, adds a late joiner\'s, and finalises on SIGINT', async () => {
    const [ada, bo] = [await participant(browser, url), await participant(browser, url)]
    people.push(ada, bo)
    await Promise.all([joinAs(ada, 'Ada'), joinAs(bo, 'Bo')])
    const ids = [await peerIdOf(ada.page), await peerIdOf(bo.page)]
    const names = new Map([[ids[0], 'Ada'], [ids[1], 'Bo']])

    const out = tempDir()
    const rec = startRecorder(key, relay, out)
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const recId: string = ready.peerId

    // every page shows the recorder as a participant, marked as one
    for (const p of [ada, bo]) {
      const tile = p.page.locator(`[data-testid=tile][data-peer-id="${recId}"]`)
      await tile.waitFor({ timeout: 45_000 })
      expect(await tile.getAttribute('data-name')).to.equal('Rec')
      await p.page.waitForFunction((id) => document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`)?.getAttribute('data-role') === 'recorder', recId, { timeout: 20_000 })
      await p.page.locator('[data-testid=participant][data-name="Rec"]').waitFor({ state: 'attached', timeout: 10_000 })
    }

    const starts = new Map<string, FreeflowEvent>()
    for (const id of ids) {
      for (const kind of ['camera', 'microphone']) {
        const e = await rec.waitFor(`${names.get(id)}'s ${kind}`, e => e.event === 'track:start' && e.peer === id && e.kind === kind, 60_000)
        starts.set(`${id}/${kind}`, e)
      }
    }

    // a shared screen is a third file, closed when sharing stops (the track leaves its stream: renegotiation)
    await ada.page.getByTestId('share-screen').click()
    starts.set(`${ids[0]}/screen`, await rec.waitFor('Ada\'s screen', e => e.event === 'track:start' && e.peer === ids[0] && e.kind === 'screen', 30_000))
    await sleep(3_000)
    const screenStopped = Date.now()
    await ada.page.getByTestId('share-screen').click()
    const screenEnd = await rec.waitFor('end of Ada\'s screen', e => e.event === 'track:end' && e.peer === ids[0] && e.kind === 'screen', 15_000)

    await sleep(3_000)
    // a participant who leaves has its files closed (two pages at a time: this machine has two cores)
    const boLeft = Date.now()
    await bo.page.getByTestId('leave').click()
    const boEnds = new Map<string, FreeflowEvent>()
    for (const kind of ['camera', 'microphone']) {
      boEnds.set(kind, await rec.waitFor(`end of Bo's ${kind}`, e => e.event === 'track:end' && e.peer === ids[1] && e.kind === kind, 20_000))
    }
    await bo.context.close()

    // one who joins later is recorded from when it joins
    const cy = await participant(browser, url)
    people.push(cy)
    await joinAs(cy, 'Cy')
    const cyId = await peerIdOf(cy.page)
    for (const kind of ['camera', 'microphone']) {
      starts.set(`${cyId}/${kind}`, await rec.waitFor(`Cy's ${kind}`, e => e.event === 'track:start' && e.peer === cyId && e.kind === kind, 60_000))
    }
    await sleep(6_000)
    const cpu = cpuSeconds(rec)
    const stopAt = Date.now()
    rec.kill('SIGINT')
    const exit = await rec.exited
    expect(exit.code, rec.stderr).to.equal(0)
    const stopped = rec.of('stopped')[0]
    expect(stopped, JSON.stringify(rec.events.map(e => e.event))).to.not.equal(undefined)

    const manifest = JSON.parse(readFileSync(stopped.manifest, 'utf8'))
    const dir = join(stopped.manifest, '..')
    // to look at the files afterwards: FREEFLOW_KEEP_RECORDING=<folder>
    if (process.env.FREEFLOW_KEEP_RECORDING != null) { cpSync(dir, process.env.FREEFLOW_KEEP_RECORDING, { recursive: true }) }
    expect(dir.startsWith(out)).to.equal(true)
    expect(manifest.room).to.equal(ready.room)
    expect(manifest.recorder).to.deep.equal({ peerId: recId, name: 'Rec' })
    expect(Date.parse(manifest.stop)).to.be.at.least(Date.parse(manifest.start))
    // a member this loaded machine let go quiet for 12 s is dropped and comes back: its tracks then continue in new
    // files (-2); that is only allowed for a member the recorder saw time out
    const timedOut = new Set(rec.of('peer:leave').filter(e => e.reason === 'timeout').map(e => e.peerId))
    const seen = new Set<string>()
    for (const f of manifest.files) {
      const k = `${f.peerId}/${f.kind}/${f.name}`
      if (seen.has(k)) { expect(timedOut.has(f.peerId), `${k} twice without a timeout`).to.equal(true) }
      seen.add(k)
    }
    const listed = [...seen].sort()
    expect(listed, rec.events.map(e => `${((e.at - ready.at) / 1000).toFixed(1)} ${e.event} ${e.name ?? ''} ${e.kind ?? ''} ${e.reason ?? ''}`).join('; ')).to.deep.equal([
      `${ids[0]}/camera/Ada`, `${ids[0]}/microphone/Ada`, `${ids[0]}/screen/Ada`, `${ids[1]}/camera/Bo`, `${ids[1]}/microphone/Bo`,
      `${cyId}/camera/Cy`, `${cyId}/microphone/Cy`
    ].sort())

    const report: string[] = []
    for (const f of manifest.files) {
      const file = join(dir, f.file)
      expect(f.file).to.match(new RegExp(`^${f.peerId.slice(-8)}-${f.name}-${f.kind}\\.webm$`))
      const info = await ffprobe(file, { packets: true, countFrames: true })
      expect(info.format.format_name).to.include('webm')
      expect(info.streams, f.file).to.have.lengthOf(1)
      const [stream] = info.streams
      if (f.kind === 'camera' || f.kind === 'screen') {
        expect(stream.codec_type).to.equal('video')
        expect(['vp8', 'vp9']).to.include(stream.codec_name)
      } else {
        expect(stream.codec_type).to.equal('audio')
        expect(stream.codec_name).to.equal('opus')
      }
      expect(f.codec).to.equal(stream.codec_name)
      // the truth, on this test's clock: from the track:start line to SIGINT. A track that ended before lies between
      // the click (Leave, Stop sharing) and its track:end line: the page sends a moment more, the file is closed after.
      const started = rec.events.find(e => e.event === 'track:start' && e.file === f.file)!.at
      const endLine = rec.events.find(e => e.event === 'track:end' && e.file === f.file && e.at < stopAt)
      const duration = durationOf(info)
      // ended before SIGINT: by a click (Bo's Leave, Ada's Stop sharing), or by a time-out (media stopped up to 12 s before)
      let click = started + 1_000
      if (f.kind === 'screen') { click = screenStopped }
      if (f.peerId === ids[1] && boEnds.get(f.kind)!.file === f.file) { click = boLeft }
      const early = endLine == null ? undefined : { click, end: endLine.at }
      const truth = ((early?.click ?? stopAt) - started) / 1000
      const latest = ((early?.end ?? stopAt) - started) / 1000
      report.push(`${f.file}: ${stream.codec_name} ${stream.width != null ? `${stream.width}x${stream.height} ` : ''}${duration.toFixed(2)} s (truth ${truth.toFixed(2)}${latest !== truth ? ` to ${latest.toFixed(2)}` : ''} s), ${stream.nb_read_frames} frames`)
      expect(duration, `${f.file}: duration ${duration} s, truth ${truth} to ${latest} s`).to.be.above(truth - 1).and.below(latest + 1)
      // and Duration says how long the media in the file runs: the end of its last packet
      const packets = info.packets ?? []
      const last = packets[packets.length - 1]
      const content = Number(last.pts_time) + Number(last.duration_time ?? 0)
      expect(Math.abs(duration - content), `${f.file}: Duration ${duration} s, last packet ends at ${content} s`).to.be.below(0.2)
      if (f.kind !== 'microphone') { expect([stream.width, stream.height], f.file).to.deep.equal([f.width, f.height]) }
      // one frame per instant, in order
      const pts = packets.map(p => Number(p.pts_time))
      expect(pts.every((t, i) => i === 0 || t > pts[i - 1]), `${f.file}: packet times do not increase`).to.equal(true)
      // files begin with a keyframe and decode throughout
      expect(await ffprobeWarnings(file), f.file).to.equal('')
      const frames = Number(stream.nb_read_frames)
      if (f.kind === 'camera') { expect(frames, f.file).to.be.above(truth * FAKE_CAMERA_FPS / 4) } else if (f.kind === 'screen') { expect(frames, f.file).to.be.above(0) } else { expect(frames, f.file).to.be.above(truth * 25) } // 20 ms Opus packets: 50 a second
      if (f.peerId === ids[1] && !timedOut.has(ids[1])) { expect(boEnds.get(f.kind)!.file).to.equal(f.file) }
      if (f.kind === 'screen' && !timedOut.has(ids[0])) { expect(screenEnd.file).to.equal(f.file) }
    }
    report.push(`recorder CPU: ${cpu.toFixed(1)} s over ${((stopAt - ready.at) / 1000).toFixed(1)} s`)
    console.log('      ' + report.join('\n      '))
  })

  it('a member that sends garbage media and a hostile name does not stop the recording', async () => {
    const evilKey = (await run(['room', 'new'])).stdout.trim()
    const out = tempDir()
    const rec = startRecorder(evilKey, relay, out)
    await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    // a real member of the room (it holds the key), a Node peer with werift, sending random bytes as RTP
    const node = await createPeer({ privateKey: await loadIdentity(join(tempDir(), 'evil')), listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit', '/webrtc'], call: true, bootstrap: [relay.tcp()] }) as RecorderNode
    try {
      const room = await node.services.room.join(evilKey, { name: '../../evil/\u0000name' })
      const call = node.services.call.join(room, { RTCPeerConnection: RTCPeerConnectionForNode })
      const video = new MediaStreamTrack({ kind: 'video' })
      const audio = new MediaStreamTrack({ kind: 'audio' })
      call.setStream('camera', new MediaStream([video, audio]) as unknown as globalThis.MediaStream)
      await rec.waitFor('the member', e => e.event === 'peer:join', 30_000)
      let seq = 0
      let ts = 0
      const timer = setInterval(() => {
        for (const [track, pt] of [[video, 96], [audio, 111]] as const) {
          const payload = randomBytes(Math.floor(Math.random() * 1200))
          // now and then something that starts like a VP8 keyframe
          if (Math.random() < 0.2 && payload.length > 8) { payload.set([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a], 0) }
          ts = (ts + Math.floor(Math.random() * 6000) - 1000) >>> 0
          track.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: (seq++) & 0xffff, timestamp: ts, payloadType: pt, marker: Math.random() < 0.5 }), payload))
        }
      }, 10)
      await sleep(8_000)
      clearInterval(timer)
      expect(rec.running, rec.stderr).to.equal(true)
    } finally {
      await node.stop()
    }
    rec.kill('SIGINT')
    expect((await rec.exited).code, rec.stderr).to.equal(0)
    const stopped = rec.of('stopped')[0]
    const manifest = JSON.parse(readFileSync(stopped.manifest, 'utf8'))
    // whatever was written stays inside the session folder, under a harmless name
    for (const f of manifest.files) { expect(f.file).to.match(/^[A-Za-z0-9]{8}-[A-Za-z0-9_-]+-(camera|microphone|screen)(-\d+)?\.webm$/) }
  })
})

/**
 * A member of the room in this process (werift, as the recorder), whose microphone sends real Opus: pink noise from
 * ffmpeg, encoded live at 128 kbit/s (about 16 KB a second) and sent as RTP to a UDP port here. `cycle()` takes the
 * track away and sends a new one (what a member cycling tracks does).
 */
async function opusMember (key: string, relay: RelayProc, name: string): Promise<{ cycle(): void, stop(): Promise<void> }> {
  const node = await createPeer({ privateKey: await loadIdentity(join(tempDir(), name)), listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit', '/webrtc'], call: true, bootstrap: [relay.tcp()] }) as RecorderNode
  const room = await node.services.room.join(key, { name })
  const call = node.services.call.join(room, { RTCPeerConnection: RTCPeerConnectionForNode })
  let track = new MediaStreamTrack({ kind: 'audio' })
  call.setStream('camera', new MediaStream([track]) as unknown as globalThis.MediaStream)
  const udp = createSocket('udp4')
  udp.on('message', (buf) => { track.writeRtp(RtpPacket.deSerialize(buf)) })
  await new Promise<void>(resolve => { udp.bind(0, '127.0.0.1', resolve) })
  const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'anoisesrc=c=pink:r=48000:a=0.5',
    '-c:a', 'libopus', '-b:a', '128k', '-f', 'rtp', `rtp://127.0.0.1:${udp.address().port}`], { stdio: 'ignore' })
  return {
    cycle () {
      call.setStream('camera', null)
      track = new MediaStreamTrack({ kind: 'audio' })
      call.setStream('camera', new MediaStream([track]) as unknown as globalThis.MediaStream)
    },
    async stop () {
      ffmpeg.kill()
      udp.close()
      await room.leave().catch(() => {})
      await node.stop()
    }
  }
}

/** The session folder's WebM files and their sizes. */
function webmFiles (dir: string): Array<{ file: string, size: number }> {
  return readdirSync(dir).filter(f => f.endsWith('.webm')).map(f => ({ file: f, size: statSync(join(dir, f)).size }))
}

describe('freeflow record: limits', function () {
  this.timeout(120_000)
  let relay: RelayProc

  before(async () => {
    relay = await startRelay()
  })

  after(async () => {
    await cleanup()
  })

  it('limits: a file stops at --max-file-bytes, finished (ffprobe reads it and its duration), said in one line', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const cap = 48 * 1024
    const rec = startRecorder(key, relay, tempDir(), ['--max-file-bytes', String(cap)])
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const member = await opusMember(key, relay, 'Ada')
    try {
      const start = await rec.waitFor('Ada\'s microphone', e => e.event === 'track:start', 45_000)
      const limit = await rec.waitFor('the file cap', e => e.event === 'limit', 20_000)
      const end = await rec.waitFor('the capped file closed', e => e.event === 'track:end', 10_000)
      expect(limit.limit).to.equal('file-bytes')
      expect(limit.file).to.equal(start.file)
      expect(end.file).to.equal(start.file)
      // the member goes on sending: nothing more is written, the recorder keeps running
      await sleep(3_000)
      expect(rec.running, rec.stderr).to.equal(true)
      const file = join(ready.dir, start.file)
      const size = statSync(file).size
      const info = await ffprobe(file, { packets: true })
      const duration = durationOf(info)
      console.log(`      --max-file-bytes ${cap}: ${start.file} ${size} bytes, ${duration.toFixed(2)} s, ${info.packets?.length ?? 0} packets; stderr: ${rec.stderr.trim()}`)
      expect(size).to.be.at.most(cap).and.above(cap * 0.8)
      expect(rec.of('limit')).to.have.lengthOf(1)
      const lines = rec.stderr.split('\n').filter(l => l.includes('limit'))
      expect(lines, rec.stderr).to.have.lengthOf(1)
      expect(lines[0]).to.match(/^freeflow: limit: .*--max-file-bytes/)
      expect(info.streams[0].codec_name).to.equal('opus')
      expect(duration).to.be.above(1)
      expect(Math.abs(duration - mediaEnd(info, 'audio')), 'Duration against the end of the last packet').to.be.below(0.2)
      expect(await ffprobeWarnings(file)).to.equal('')
      const manifest = JSON.parse(readFileSync(ready.manifest, 'utf8'))
      expect(manifest.files[0].end).to.not.equal(null)
    } finally {
      await member.stop()
    }
    rec.kill('SIGINT')
    expect((await rec.exited).code, rec.stderr).to.equal(0)
  })

  it('limits: at --max-session-bytes all writing stops, the files are finished, the recorder exits 1', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const cap = 64 * 1024
    const rec = startRecorder(key, relay, tempDir(), ['--max-session-bytes', String(cap)])
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const members = [await opusMember(key, relay, 'Ada'), await opusMember(key, relay, 'Bo')]
    try {
      await rec.waitFor('a microphone', e => e.event === 'track:start', 45_000)
      const limit = await rec.waitFor('the session cap', e => e.event === 'limit', 30_000)
      expect(limit.limit).to.equal('session-bytes')
      const exit = await Promise.race([rec.exited, sleep(20_000).then(() => ({ code: 'still running' }))])
      const files = webmFiles(ready.dir)
      const total = files.reduce((n, f) => n + f.size, 0)
      console.log(`      --max-session-bytes ${cap}: ${files.length} files, ${total} bytes (${files.map(f => `${f.file} ${f.size}`).join(', ')}); exit ${exit.code}`)
      expect(exit.code, rec.stderr).to.equal(1)
      expect(rec.of('stopped')).to.have.lengthOf(1)
      expect(total).to.be.at.most(cap).and.above(cap * 0.5)
      expect(rec.stderr.split('\n').filter(l => l.includes('limit')), rec.stderr).to.have.lengthOf(1)
      for (const f of files) {
        const info = await ffprobe(join(ready.dir, f.file))
        expect(durationOf(info), f.file).to.be.above(0)
        expect(await ffprobeWarnings(join(ready.dir, f.file)), f.file).to.equal('')
      }
      // the JSON line and the one line on stderr
      expect(rec.stderr).to.match(/freeflow: limit: .*--max-session-bytes/)
      const manifest = JSON.parse(readFileSync(ready.manifest, 'utf8'))
      expect(manifest.stop).to.not.equal(null)
      expect(manifest.files.every((f: any) => f.end != null)).to.equal(true)
    } finally {
      for (const m of members) { await m.stop() }
    }
  })

  it('limits: a participant that cycles tracks gets no more than --max-files-per-participant files', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const cap = 2
    const cycles = 5
    const rec = startRecorder(key, relay, tempDir(), ['--max-files-per-participant', String(cap)])
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const member = await opusMember(key, relay, 'Ada')
    try {
      await rec.waitFor('the first file', e => e.event === 'track:start', 45_000)
      for (let i = 1; i < cycles; i++) {
        member.cycle()
        // the next file, or the limit
        await rec.waitFor(`file ${i + 1} or the limit`, e => (e.event === 'track:start' && rec.of('track:start').length > i) || e.event === 'limit', 30_000)
      }
      await sleep(2_000)
    } finally {
      await member.stop()
    }
    rec.kill('SIGINT')
    expect((await rec.exited).code, rec.stderr).to.equal(0)
    const manifest = JSON.parse(readFileSync(ready.manifest, 'utf8'))
    console.log(`      --max-files-per-participant ${cap}, ${cycles} tracks one after another: ${manifest.files.length} files, ${rec.of('limit').length} limit line(s): ${rec.stderr.trim()}`)
    expect(manifest.files).to.have.lengthOf(cap)
    expect(webmFiles(ready.dir)).to.have.lengthOf(cap)
    expect(rec.of('limit').map(e => e.limit)).to.deep.equal(['participant-files'])
    expect(rec.stderr.split('\n').filter(l => l.includes('limit')), rec.stderr).to.have.lengthOf(1)
  })

  it('limits: --max-files caps the files of the session, whoever they come from (new identities)', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const rec = startRecorder(key, relay, tempDir(), ['--max-files', '1'])
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    // two identities, as a member that makes a new one would
    const members = [await opusMember(key, relay, 'Ada'), await opusMember(key, relay, 'Ada2')]
    try {
      await rec.waitFor('a file', e => e.event === 'track:start', 45_000)
      // the other identity's track: a second file, or the limit
      await rec.waitFor('a second file or the limit', e => e.event === 'limit' || rec.of('track:start').length > 1, 45_000)
      await sleep(3_000)
    } finally {
      for (const m of members) { await m.stop() }
    }
    rec.kill('SIGINT')
    expect((await rec.exited).code, rec.stderr).to.equal(0)
    const manifest = JSON.parse(readFileSync(ready.manifest, 'utf8'))
    console.log(`      --max-files 1, two identities: ${manifest.files.length} file(s), limits ${JSON.stringify(rec.of('limit').map(e => e.limit))}`)
    expect(manifest.files).to.have.lengthOf(1)
    expect(webmFiles(ready.dir)).to.have.lengthOf(1)
    expect(rec.of('limit').map(e => e.limit)).to.deep.equal(['session-files'])
  })

  it('limits: at --min-free-bytes (a 512 KiB tmpfs) all writing stops, the files are finished, the recorder exits 1', async function () {
    if (process.getuid?.() !== 0) { this.skip() } // mounting a tmpfs in a mount namespace of its own needs root
    const key = (await run(['room', 'new'])).stdout.trim()
    const floor = 384 * 1024
    const out = tempDir()
    const copy = tempDir()
    // the recorder runs in a mount namespace of its own, with a 512 KiB tmpfs at --out; when it has exited, the shell
    // notes the space left and copies the files out for ffprobe
    const script = 'mount -t tmpfs -o size=512k tmpfs "$OUT" || exit 9; "$0" "$@" & pid=$!; trap \'kill -INT $pid\' INT TERM; ' +
      'wait $pid; rc=$?; if kill -0 $pid 2>/dev/null; then wait $pid; rc=$?; fi; ' +
      'df -B1 --output=avail "$OUT" | tail -1 > "$COPY/avail"; cp -r "$OUT"/. "$COPY"/; exit $rc'
    const rec = new Proc('recorder', ['record', key, '--json', '--name', 'Rec', '--bootstrap', relay.tcp(), '--out', out, '--min-free-bytes', String(floor),
      '--data-dir', join(tempDir(), 'rec'), '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit', '--listen', '/webrtc'],
    ['unshare', '-m', 'sh', '-c', script], { OUT: out, COPY: copy })
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const member = await opusMember(key, relay, 'Ada')
    try {
      await rec.waitFor('a microphone', e => e.event === 'track:start', 45_000)
      const limit = await rec.waitFor('the free-space floor', e => e.event === 'limit', 30_000)
      expect(limit.limit).to.equal('free-space')
      const exit = await Promise.race([rec.exited, sleep(20_000).then(() => ({ code: 'still running' }))])
      const avail = Number(readFileSync(join(copy, 'avail'), 'utf8').trim())
      const dir = join(copy, ready.dir.slice(out.length))
      const files = webmFiles(dir)
      console.log(`      --min-free-bytes ${floor} on a 512 KiB tmpfs: ${avail} bytes free at the end, ${files.map(f => `${f.file} ${f.size}`).join(', ')}; exit ${exit.code}`)
      expect(exit.code, rec.stderr).to.equal(1)
      expect(rec.stderr.split('\n').filter(l => l.includes('limit')), rec.stderr).to.have.lengthOf(1)
      // tmpfs counts whole 4 KiB pages, the recorder bytes: a page per file at most
      expect(avail).to.be.at.least(floor - 4096 * (files.length + 1))
      expect(files).to.have.lengthOf(1)
      const info = await ffprobe(join(dir, files[0].file), { packets: true })
      expect(durationOf(info)).to.be.above(1)
      expect(Math.abs(durationOf(info) - mediaEnd(info, 'audio'))).to.be.below(0.2)
      expect(await ffprobeWarnings(join(dir, files[0].file))).to.equal('')
    } finally {
      await member.stop()
    }
  })

  it('limits: an --out that is a symbolic link is refused in one line, nothing written through it', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const target = tempDir()
    const link = join(tempDir(), 'recordings')
    symlinkSync(target, link)
    const rec = startRecorder(key, relay, link)
    const exit = await Promise.race([rec.exited, sleep(20_000).then(() => ({ code: 'still running after 20 s' }))])
    rec.kill('SIGINT')
    await rec.exited
    console.log(`      --out a symlink: exit ${exit.code}, stderr ${JSON.stringify(rec.stderr)}, ${readdirSync(target).length} entries written through it`)
    expect(exit.code, rec.stderr).to.equal(2)
    const lines = rec.stderr.trim().split('\n')
    expect(lines).to.have.lengthOf(1)
    expect(lines[0]).to.match(/^freeflow: --out .* is a symbolic link/)
    expect(readdirSync(target)).to.deep.equal([])
  })
})
