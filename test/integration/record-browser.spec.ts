/* eslint-env mocha */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'
import { setWebmDuration, webmDuration } from '../../browser/src/webm.js'
import { joinAs, launch, pagePeerId, participant, waitForVideo, type Participant } from '../helpers/browser.js'
import { cleanup, Proc, run, sleep, startRelay, tempDir, type RelayProc } from '../helpers/procs.js'
import type { Browser, Page } from 'playwright-core'

const exec = promisify(execFile)
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url))

interface Probe {
  format: { format_name: string, duration?: string, size: string }
  streams: Array<{ codec_type: string, codec_name: string, width?: number, height?: number }>
}

async function ffprobe (file: string): Promise<Probe> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file])
  return JSON.parse(stdout)
}

/** Timestamp of the last video packet: what the recording itself says its length is. */
async function lastVideoPacket (file: string): Promise<number> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 })
  return Math.max(...stdout.split('\n').filter(l => l.trim() !== '').map(Number))
}

/** Loudest sample of the mixed audio, in dBFS (-91 is digital silence). */
async function maxVolume (file: string): Promise<number> {
  const { stderr } = await exec('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a:0', '-af', 'volumedetect', '-f', 'null', '-'])
  const m = /max_volume: (-?[\d.]+) dB/.exec(stderr)
  if (m == null) throw new Error(`no volumedetect output: ${stderr.slice(-500)}`)
  return Number(m[1])
}

/** Decode the whole file: any corrupt packet is an error. */
async function decodeErrors (file: string): Promise<string> {
  const { stderr } = await exec('ffmpeg', ['-hide_banner', '-nostats', '-v', 'error', '-i', file, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 })
  return stderr.trim()
}

async function frameAt (file: string, seconds: number, out: string): Promise<void> {
  await exec('ffmpeg', ['-y', '-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', out])
}

async function indicator (page: Page): Promise<string | null> {
  const el = page.getByTestId('recording-indicator')
  return await el.isVisible() ? await el.textContent() : null
}

async function waitIndicator (page: Page, text: RegExp, timeoutMs = 10_000): Promise<void> {
  await page.getByTestId('recording-indicator').filter({ hasText: text }).waitFor({ state: 'visible', timeout: timeoutMs })
}

async function waitNoIndicator (page: Page, timeoutMs = 10_000): Promise<void> {
  await page.getByTestId('recording-indicator').waitFor({ state: 'hidden', timeout: timeoutMs })
}

async function download (page: Page, testid: string, name: string): Promise<{ path: string, suggested: string }> {
  const link = page.getByTestId(testid).first()
  const size = Number(await link.getAttribute('data-size'))
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), link.click()])
  const path = join(ARTIFACTS, name)
  await dl.saveAs(path)
  expect(await dl.failure()).to.equal(null)
  expect(statSync(path).size, 'the whole file was saved').to.equal(size)
  return { path, suggested: dl.suggestedFilename() }
}

function expectWebm (probe: Probe): void {
  expect(probe.format.format_name).to.include('webm')
  const video = probe.streams.filter(s => s.codec_type === 'video')
  const audio = probe.streams.filter(s => s.codec_type === 'audio')
  expect(video, 'one video track').to.have.lengthOf(1)
  expect(audio, 'one audio track').to.have.lengthOf(1)
  expect(video[0].codec_name).to.match(/^vp[89]$/)
  expect([video[0].width, video[0].height]).to.deep.equal([1280, 720])
  expect(audio[0].codec_name).to.equal('opus')
}

describe('recording a call in the browser', function () {
  this.timeout(300_000)
  let relay: RelayProc
  let browser: Browser
  let key: string
  let url: string
  let shortName: string
  const people: Participant[] = []
  /** command-line recorders a test started: stopped after each test, so a failure does not leave one in the room */
  const recorders: Proc[] = []

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    relay = await startRelay()
    browser = await launch()
    key = (await run(['room', 'new'])).stdout.trim()
    url = `${relay.http}/#room=${key}`
  })

  afterEach(async function () {
    for (const r of recorders.splice(0)) {
      r.kill('SIGINT')
      await r.exited
    }
    // a test that failed half-way must not leave a page recording into the next one
    for (const p of people) {
      const button = p.page.getByTestId('record')
      if (/Stop/.test(await button.textContent().catch(() => '') ?? '')) await button.click().catch(() => {})
    }
    if (this.currentTest?.state !== 'failed') return
    for (const p of people) {
      const state = await p.page.evaluate(() => ({
        record: document.getElementById('record')?.textContent,
        status: document.getElementById('recording-status')?.textContent,
        indicator: document.getElementById('recording-indicator')?.textContent,
        members: (globalThis as any).freeflow.room?.members().map((m: any) => `${m.name}:${m.role}:${m.recording?.since ?? '-'}`),
        draw: (globalThis as any).freeflow.recorder?.stats
      })).catch((err: Error) => err.message)
      console.log(JSON.stringify(state), p.logs.filter(l => /pageerror|error/i.test(l)).slice(-10).join('\n'))
    }
  })

  after(async () => {
    await browser?.close()
    await cleanup()
  })

  it('two people talk while a third records: everyone sees who records, and the file is WebM with video, audio and its true length', async () => {
    const [ada, bo, cleo] = [await participant(browser, url), await participant(browser, url), await participant(browser, url)]
    people.push(ada, bo, cleo)
    await Promise.all([joinAs(ada, 'Ada'), joinAs(bo, 'Bo'), joinAs(cleo, 'Cleo')])
    const [adaId, boId] = [await pagePeerId(ada.page), await pagePeerId(bo.page)]
    for (const id of [adaId, boId]) await waitForVideo(cleo.page, id, 45_000)
    await waitForVideo(ada.page, boId, 45_000)
    shortName = (await cleo.page.locator('#room-name').textContent()) ?? ''
    expect(shortName).to.match(/^[0-9a-f]{8}$/)
    for (const p of people) expect(await indicator(p.page)).to.equal(null)

    // start: the recorder's page and both others say who records
    const startedAt = Date.now()
    await cleo.page.getByTestId('record').click()
    await cleo.page.getByTestId('record').filter({ hasText: /Stop/ }).waitFor({ timeout: 30_000 })
    const recordingSince = Date.now()
    await waitIndicator(cleo.page, /You are recording/)
    for (const p of [ada, bo]) await waitIndicator(p.page, /Cleo is recording/, 5_000)
    expect(await cleo.page.getByTestId('record').getAttribute('aria-pressed')).to.equal('true')

    // a command-line recorder records the same room at the same time, one file per track
    const cliOut = tempDir('freeflow-record-both-')
    const rec = new Proc('recorder', ['record', key, '--json', '--name', 'Rec', '--bootstrap', relay.tcp(), '--out', cliOut,
      '--data-dir', join(cliOut, '.identity'), '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit', '--listen', '/webrtc'])
    recorders.push(rec)
    const recId: string = (await rec.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    for (const p of [ada, bo, cleo]) await waitIndicator(p.page, /Rec/, 30_000)
    // every page's camera and microphone reach it; both recorders then run side by side for 10 s
    try {
      await rec.waitFor('every track', () => rec.of('track:start').length >= 6, 60_000)
    } catch (err: any) {
      const states = await Promise.all([ada, bo, cleo].map(async p => p.page.evaluate(async (id) => {
        const f = (globalThis as any).freeflow
        const m = f.room.members().find((x: any) => x.peerId.toString() === id)
        const pc = m != null ? f.call.peerConnection(m.peerId) : undefined
        return { member: m != null, pc: pc?.connectionState, sig: pc?.signalingState, senders: pc?.getSenders().map((x: any) => x.track?.kind).join(',') }
      }, recId)))
      throw new Error(`${err.message}; tracks ${rec.of('track:start').map(e => `${e.name}:${e.kind}`).join(' ')}; pages' sessions with the recorder ${JSON.stringify(states)}`)
    }
    await sleep(10_000)
    // the recorder stops before a fourth person joins: four pages and a recorder are more than two cores carry
    const recStop = Date.now()
    rec.kill('SIGINT')
    const recExit = await rec.exited
    expect(recExit.code, rec.stderr).to.equal(0)
    for (const p of [ada, bo, cleo]) await waitIndicator(p.page, /^(?!.*Rec)/, 20_000)

    // a late joiner sees it from the moment they are in the call, and appears in the recording
    await sleep(2_000)
    const dee = await participant(browser, url)
    people.push(dee)
    await joinAs(dee, 'Dee')
    await waitIndicator(dee.page, /Cleo is recording/, 20_000)
    expect(await dee.page.locator('[data-testid=participant][data-name=Cleo]').textContent()).to.match(/recording/)
    const deeId = await pagePeerId(dee.page)
    // Dee's tile, with Dee's name, is in Cleo's grid and so in the recording
    await cleo.page.locator(`[data-testid=tile][data-peer-id="${deeId}"][data-name=Dee]`).waitFor({ timeout: 90_000 })
    // Dee's video too, as a rule; but with four pages and a recording page on two cores, the media call between
    // Dee and Cleo can stay in 'calling' (a known defect, see docs/recording.md): then the tile shows without video
    try {
      await waitForVideo(cleo.page, deeId, 30_000)
    } catch (err: any) {
      console.log(`      KNOWN DEFECT: Dee's video did not reach the recording page: ${String(err.message).slice(0, 200)}`)
    }
    await sleep(2_000)

    // Bo turns the camera off: the recording shows Bo's tile without video, marked
    await bo.page.getByTestId('toggle-camera').click()
    await cleo.page.waitForFunction((id) => (document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`) as HTMLElement)?.dataset.camera === 'off', boId, { timeout: 10_000 })
    await sleep(3_000)
    await ada.page.screenshot({ path: join(ARTIFACTS, 'recording-seen.png') })
    await cleo.page.screenshot({ path: join(ARTIFACTS, 'recording-on.png') })
    const sinceStart = Date.now() - recordingSince
    if (sinceStart < 10_000) await sleep(10_000 - sinceStart)
    for (const p of [ada, bo, dee]) expect(await indicator(p.page)).to.match(/Cleo is recording/)

    // stop: the indicator goes away everywhere, and a download is offered
    const stopClick = Date.now()
    await cleo.page.getByTestId('record').click()
    // the recording began between the click and the button turning to Stop, and ended at the second click
    const truth = { low: (stopClick - recordingSince) / 1000, high: (stopClick - startedAt) / 1000 }
    const link = cleo.page.getByTestId('recording-download')
    await link.waitFor({ state: 'visible', timeout: 20_000 })
    for (const p of [ada, bo, dee, cleo]) await waitNoIndicator(p.page)
    expect(await cleo.page.getByTestId('record').textContent()).to.match(/Record/)
    // the page's own clock, from MediaRecorder's start to its stop: a busy page handles a click late
    const pageSec = Number(await link.getAttribute('data-duration-ms')) / 1000
    console.log(`      the page recorded ${pageSec.toFixed(2)} s`)
    expect(pageSec, 'the page stopped within 3 s of the click').to.be.within(truth.low - 1, truth.high + 3)
    const { path, suggested } = await download(cleo.page, 'recording-download', 'recording.webm')
    expect(suggested).to.match(new RegExp(`^freeflow-${shortName}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.webm$`))
    console.log(`      recorded ${truth.low.toFixed(2)} to ${truth.high.toFixed(2)} s, file ${statSync(path).size} bytes`)

    const probe = await ffprobe(path)
    expectWebm(probe)
    const duration = Number(probe.format.duration)
    const packets = await lastVideoPacket(path)
    console.log(`      ffprobe duration ${duration} s, last video packet at ${packets} s`)
    expect(duration, 'duration against the time the page recorded').to.be.within(pageSec - 1, pageSec + 1)
    // a file without a Duration would report its last packet (the test below checks the element is there)
    expect(Math.abs(duration - packets), `duration ${duration} vs last video packet ${packets}`).to.be.below(2)
    expect(await decodeErrors(path)).to.equal('')
    const volume = await maxVolume(path)
    console.log(`      loudest audio ${volume} dBFS`)
    expect(volume, 'the mixed audio is not silence').to.be.above(-40)

    // the command-line recorder's files: one valid WebM per track, as long as the track was recorded
    const stopped = rec.of('stopped')[0]
    const manifest = JSON.parse(readFileSync(stopped.manifest, 'utf8'))
    const tracks = manifest.files.map((f: any) => `${f.name}:${f.kind}`).sort()
    for (const name of ['Ada', 'Bo', 'Cleo']) expect(tracks).to.include.members([`${name}:camera`, `${name}:microphone`])
    for (const f of manifest.files) {
      const file = join(stopped.manifest, '..', f.file)
      const p = await ffprobe(file)
      expect(p.format.format_name).to.include('webm')
      expect(p.streams, f.file).to.have.lengthOf(1)
      expect(p.streams[0].codec_name).to.match(f.kind === 'microphone' ? /^opus$/ : /^vp[89]$/)
      const started = rec.of('track:start').find(e => e.file === f.file)?.at
      const ended = rec.of('track:end').find(e => e.file === f.file)?.at
      expect(started, `${f.file} has a track:start line`).to.be.a('number')
      // the truth: from its track:start line to its track:end line, or to SIGINT
      const truthSec = ((ended ?? recStop) - started!) / 1000
      console.log(`      cli ${f.file}: ${Number(p.format.duration).toFixed(2)} s, truth ${truthSec.toFixed(2)} s`)
      expect(Number(p.format.duration), f.file).to.be.within(truthSec - 1, truthSec + 1)
    }

    // frames for people to look at: before Dee was there, and at the end (Dee in, Bo's camera off)
    await frameAt(path, 1, join(ARTIFACTS, 'recording-frame-start.png'))
    await frameAt(path, Math.max(0, duration - 1), join(ARTIFACTS, 'recording-frame.png'))
    await cleo.page.screenshot({ path: join(ARTIFACTS, 'recording-stopped.png') })
    await dee.page.getByTestId('leave').click()
    await dee.context.close()
  })

  it('the Duration patch writes what it is given into the file head', async () => {
    const file = readFileSync(join(ARTIFACTS, 'recording.webm'))
    const head = new Uint8Array(file.buffer, file.byteOffset, Math.min(file.length, 64 * 1024))
    expect(webmDuration(head)).to.be.above(5_000)
    const patched = setWebmDuration(head, 1_234.5)
    expect(webmDuration(patched)).to.be.closeTo(1_234.5, 0.001)
    expect(webmDuration(setWebmDuration(patched, 99_000))).to.equal(99_000)
    expect(() => setWebmDuration(new Uint8Array([1, 2, 3, 4]), 1)).to.throw().with.property('name', 'WebmFormatError')
  })

  it('a reload while recording offers the unfinished recording, which downloads as a valid WebM', async () => {
    const [ada, , cleo] = people
    const clicked = Date.now()
    await cleo.page.getByTestId('record').click()
    await cleo.page.getByTestId('record').filter({ hasText: /Stop/ }).waitFor({ timeout: 30_000 })
    const since = Date.now()
    await waitIndicator(ada.page, /Cleo is recording/, 20_000)
    await sleep(7_000)
    // at least three chunks closed on disk (a busy machine encodes and writes late)
    await cleo.page.waitForFunction(async () => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('recordings')
      for await (const dir of (root as any).values()) {
        const meta = JSON.parse(await (await (await dir.getFileHandle('meta.json')).getFile()).text())
        if (meta.status === 'recording' && meta.chunks >= 3) return true
      }
      return false
    }, undefined, { timeout: 30_000, polling: 500 })
    const elapsed = { low: (Date.now() - since) / 1000, high: (Date.now() - clicked) / 1000 }
    await cleo.page.reload()
    // leaving by reload ends the notice for the others too
    await waitNoIndicator(ada.page, 20_000)
    const recover = cleo.page.getByTestId('recording-recover')
    await recover.waitFor({ state: 'visible', timeout: 15_000 })
    expect(await cleo.page.getByTestId('recording-recover-item').count()).to.equal(1)
    expect(await recover.textContent()).to.include(shortName).and.to.include('unfinished')
    const { path, suggested } = await download(cleo.page, 'recording-recover-download', 'recording-recovered.webm')
    expect(suggested).to.match(new RegExp(`^freeflow-${shortName}-.*\\.webm$`))
    const probe = await ffprobe(path)
    expectWebm(probe)
    const duration = Number(probe.format.duration)
    const packets = await lastVideoPacket(path)
    console.log(`      reloaded after ${elapsed.low.toFixed(2)} to ${elapsed.high.toFixed(2)} s; recovered duration ${duration} s, last video packet ${packets} s`)
    // what reached the disk: three chunks or more of about 2 s (less on a machine too busy to encode in time),
    // never more than the recording lasted
    expect(duration).to.be.within(1.5, elapsed.high + 0.5)
    expect(Math.abs(duration - packets)).to.be.below(2)
    expect(await decodeErrors(path)).to.equal('')
    await cleo.page.screenshot({ path: join(ARTIFACTS, 'recording-recover.png') })

    // discard removes it from the browser for good
    await cleo.page.getByTestId('recording-recover-discard').click()
    await recover.waitFor({ state: 'hidden', timeout: 5_000 })
    const left = await cleo.page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('recordings', { create: true })
      const names: string[] = []
      for await (const name of (dir as any).keys()) names.push(name)
      return names
    })
    expect(left).to.deep.equal([])
    await cleo.page.reload()
    await cleo.page.getByTestId('local-video').waitFor()
    await sleep(1_000)
    expect(await recover.isVisible()).to.equal(false)
  })

  it('a command-line recorder in the room is a participant marked recorder, and everyone is told it records', async () => {
    const [ada] = people
    const rec = new Proc('recorder', ['record', key, '--json', '--name', 'Rec', '--bootstrap', relay.tcp(), '--out', tempDir(),
      '--data-dir', join(tempDir(), 'rec'), '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit', '--listen', '/webrtc'])
    recorders.push(rec)
    const recId = (await rec.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    const tile = ada.page.locator(`[data-testid=tile][data-peer-id="${recId}"]`)
    await tile.waitFor({ timeout: 45_000 })
    await waitIndicator(ada.page, /Rec is recording/, 10_000)
    expect(await tile.getAttribute('data-role')).to.equal('recorder')
    expect(await tile.locator('.badge').textContent()).to.equal('recorder')
    expect(await tile.locator('.rec').isVisible()).to.equal(true)
    expect(await ada.page.locator(`[data-testid=participant][data-peer-id="${recId}"]`).textContent()).to.match(/recorder/)
    await ada.page.screenshot({ path: join(ARTIFACTS, 'recording-cli-seen.png') })
    rec.kill('SIGTERM')
    await rec.exited
    await waitNoIndicator(ada.page, 20_000)
  })

  it('a browser that cannot record says so in one sentence, and nobody is told of a recording', async () => {
    const [ada] = people
    const old = await browser.newContext()
    await old.grantPermissions(['camera', 'microphone'], { origin: new URL(url).origin })
    const page = await old.newPage()
    await page.addInitScript(() => { delete (globalThis as any).MediaRecorder })
    await page.goto(url)
    await page.getByTestId('display-name').fill('Old')
    await page.getByTestId('join').click()
    await page.locator('#call').waitFor({ state: 'visible', timeout: 30_000 })
    await page.getByTestId('record').click()
    const status = page.getByTestId('recording-status')
    await status.waitFor({ state: 'visible', timeout: 5_000 })
    expect(await status.textContent()).to.match(/cannot record/)
    expect(await page.getByTestId('recording-download').isVisible()).to.equal(false)
    expect(await indicator(page)).to.equal(null)
    await sleep(2_000)
    expect(await indicator(ada.page)).to.equal(null)
    await old.close()
  })
})
