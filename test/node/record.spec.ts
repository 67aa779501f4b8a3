/**
 * The recorder's own parsing, fed what a hostile or broken peer could send: RTP payloads (keyframe detection),
 * display names (file names), and the WebM finishing pass, checked with ffmpeg against files werift writes.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { saveToFileSystem, WebmCallback } from 'werift/nonstandard'
import { durationOf, ffprobe, runMediaTool } from '../../harness/ffprobe.ts'
import { keyframeInfo, safeName } from '../../node/record.ts'
import { finishWebm, InvalidWebmError } from '../../node/webm-finish.ts'
import { rejection } from '../helpers/assert.ts'

/** A VP8 RTP payload: descriptor with a 15-bit picture id, then a frame's first bytes. */
function vp8Packet (key: boolean, width = 1280, height = 720): Uint8Array {
  const descriptor = [0x90, 0x80, 0x80 | 0x12, 0x34] // X, S, PID 0; I; M + picture id
  const tag = [key ? 0x00 : 0x01, 0x00, 0x00]
  const keyHeader = key ? [0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8] : []
  return Uint8Array.from([...descriptor, ...tag, ...keyHeader, 0, 0, 0])
}

/** Bytes that pass for a VP8 frame with ffmpeg's parser (frame tag, and for a keyframe start code and size). */
function vp8Frame (key: boolean): Buffer {
  const partition = 10
  const tag = [(key ? 0 : 1) | 0x10 | ((partition & 0x07) << 5), (partition >> 3) & 0xff, partition >> 11]
  const head = key ? [...tag, 0x9d, 0x01, 0x2a, 640 & 0xff, 640 >> 8, 360 & 0xff, 360 >> 8] : tag
  return Buffer.concat([Buffer.from(head), Buffer.alloc(200)])
}

/** A live WebM written by werift's writer, as the recorder writes one: `frames` frames 40 ms apart. */
async function liveWebm (path: string, frames: number): Promise<void> {
  const webm = new WebmCallback([{ kind: 'video', codec: 'VP8', clockRate: 90000, trackNumber: 1, width: 640, height: 360 } as any], { duration: 24 * 3600 * 1000 })
  const save = saveToFileSystem(path)
  let done!: () => void
  const ended = new Promise<void>(resolve => { done = resolve })
  webm.pipe(async (o: any) => { if (await save(o)) { done() } })
  for (let i = 0; i < frames; i++) {
    // a new cluster at every keyframe, as from a camera asked for keyframes now and then
    webm.inputVideo({ frame: { data: vp8Frame(i % 25 === 0), isKeyframe: i % 25 === 0, time: i * 40 } } as any)
  }
  webm.inputVideo({ eol: true } as any)
  await ended
}

async function containerErrors (file: string): Promise<string> {
  // stream copy: reads every packet through the demuxer without decoding (the frames hold no picture)
  const { stderr } = await runMediaTool('ffmpeg', ['-v', 'error', '-i', file, '-c', 'copy', '-f', 'null', '-'])
  return stderr.trim()
}

describe('recorder: parsing what peers send', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'freeflow-record-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('finds VP8 keyframes and their picture size, and nothing in inter frames', () => {
    expect(keyframeInfo('vp8', vp8Packet(true, 1280, 720))).to.deep.equal({ width: 1280, height: 720 })
    expect(keyframeInfo('vp8', vp8Packet(false))).to.equal(undefined)
    // a continuation packet of a keyframe (S bit clear) is not its start
    const cont = vp8Packet(true)
    cont[0] = 0x80
    expect(keyframeInfo('vp8', cont)).to.equal(undefined)
  })

  it('finds VP9 keyframes with the picture size of the largest layer', () => {
    // I (7-bit picture id), B, E, V; scalability structure: one layer, Y: 960x540
    const p = Uint8Array.from([0x80 | 0x08 | 0x04 | 0x02, 0x05, 0x10, 0x03, 0xc0, 0x02, 0x1c, 0x00])
    expect(keyframeInfo('vp9', p)).to.deep.equal({ width: 960, height: 540 })
    expect(keyframeInfo('vp9', Uint8Array.from([0x40 | 0x08, 0x00]))).to.equal(undefined)
  })

  it('never throws on garbage payloads', () => {
    for (let i = 0; i < 5_000; i++) {
      const p = randomBytes(i % 24)
      for (const codec of ['vp8', 'vp9', 'opus', '']) {
        const info = keyframeInfo(codec, p)
        if (info?.width != null) { expect(info.width).to.be.a('number').and.at.least(0) }
      }
    }
  })

  it('turns any display name into a harmless file name part', () => {
    expect(safeName('Ada')).to.equal('Ada')
    expect(safeName('../../etc/passwd')).to.equal('etc_passwd')
    expect(safeName('a/b\\c:d*e?f"g<h>i|j')).to.match(/^[A-Za-z0-9_-]+$/)
    expect(safeName('')).to.equal('anonymous')
    expect(safeName('...')).to.equal('anonymous')
    expect(safeName('Zoë Ñandú')).to.equal('Zoe_Nandu')
    expect(safeName('x'.repeat(500))).to.have.lengthOf(32)
  })

  it('werift\'s live WebM is off (unknown-sized clusters, segment size too long); finishing makes ffmpeg read it cleanly', async () => {
    const file = join(dir, 'live.webm')
    await liveWebm(file, 120)
    expect(await containerErrors(file)).to.not.equal('')
    const fixed = await finishWebm(file, { width: 1280, height: 720 })
    expect(fixed).to.equal(5) // a cluster at every 25th frame
    expect(await containerErrors(file)).to.equal('')
    const info = await ffprobe(file)
    expect(durationOf(info)).to.be.closeTo(119 * 0.04, 0.001)
    expect([info.streams[0].width, info.streams[0].height]).to.deep.equal([1280, 720])
    // finishing twice changes nothing
    const before = readFileSync(file)
    await finishWebm(file, { width: 1280, height: 720 })
    expect(readFileSync(file).equals(before)).to.equal(true)
  })

  it('finishing refuses what is not a WebM file, and a truncated one is no crash', async () => {
    const garbage = join(dir, 'garbage.webm')
    writeFileSync(garbage, randomBytes(4096))
    expect((await rejection(finishWebm(garbage))).name).to.equal(InvalidWebmError.name)
    const whole = join(dir, 'whole.webm')
    await liveWebm(whole, 60)
    const bytes = readFileSync(whole)
    for (const cut of [10, 60, 200, bytes.length - 7]) {
      const truncated = join(dir, `cut-${cut}.webm`)
      writeFileSync(truncated, bytes.subarray(0, cut))
      const outcome = await finishWebm(truncated).then(() => 'finished', (err: Error) => err.name)
      expect(['finished', InvalidWebmError.name]).to.include(outcome)
    }
  })
})
