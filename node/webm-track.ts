/**
 * One received track into one WebM file, with werift's pieces: jitter buffer (video), RTP time, depacketizer,
 * Matroska muxer, file writer. This is werift's MediaRecorder pipeline (nonstandard/recorder/writer/webm.ts) for a
 * single track, with one addition: a frame whose time is not after the previous one is dropped. Under load
 * werift's depacketizer sometimes emits the remainder of a frame whose packets came late (NACK retransmissions) as
 * a second frame with the same timestamp; written as is, the file has two blocks at one time, which ffmpeg
 * reports ("non monotonically increasing dts") and players may show as a glitch.
 */
import { DepacketizeCallback, JitterBufferCallback, RtpSourceCallback, RtpTimeCallback, saveToFileSystem, WebmCallback } from 'werift/nonstandard'
import type { MediaStreamTrack, RtpPacket } from 'werift'

/** How long closing waits for the writer to flush and patch the header, in ms. */
const CLOSE_TIMEOUT = 5_000
/** What the writer claims until the file is closed and the real Duration is written, in ms: a day, as werift. */
const OPEN_DURATION = 24 * 3600 * 1000

const CONTAINER_CODEC: Record<string, string> = { vp8: 'VP8', vp9: 'VP9', opus: 'OPUS' }

export class WebmTrackWriter {
  /** Frames dropped because their time did not advance. */
  dropped = 0
  private readonly source = new RtpSourceCallback()
  private readonly ended: Promise<void>
  private readonly unsubscribe: () => void

  /**
   * `onFirstFrame` is called when the first frame goes into the file: for video the first whole keyframe (the muxer
   * drops what comes before one), for audio the first packet.
   */
  constructor (path: string, track: MediaStreamTrack, codec: 'vp8' | 'vp9' | 'opus', onFirstFrame: (data: Buffer) => void, onError: (err: Error) => void) {
    const video = track.kind === 'video'
    const clockRate = video ? 90_000 : 48_000
    const name = CONTAINER_CODEC[codec]
    const webm = new WebmCallback([{
      kind: video ? 'video' : 'audio',
      codec: name,
      clockRate,
      trackNumber: 1,
      payloadType: track.codec?.payloadType,
      track,
      ...(video ? { width: 640, height: 360 } : {})
    } as any], { duration: OPEN_DURATION })
    const time = new RtpTimeCallback(clockRate)
    const depacketizer = new DepacketizeCallback(name as any, video ? { isFinalPacketInSequence: (h: { marker: boolean }) => h.marker } : {})
    if (video) {
      const jitter = new JitterBufferCallback(clockRate, {})
      this.source.pipe(jitter.input)
      jitter.pipe(time.input)
    } else {
      this.source.pipe(time.input)
    }
    time.pipe(depacketizer.input)
    let last = -Infinity
    let started = false
    depacketizer.pipe((out: any) => {
      if (out.frame != null) {
        if (out.frame.time <= last) {
          this.dropped++
          return
        }
        last = out.frame.time
        if (!started && (!video || out.frame.isKeyframe === true)) {
          started = true
          onFirstFrame(out.frame.data)
        }
      }
      if (video) { webm.inputVideo(out) } else { webm.inputAudio(out) }
    })
    const save = saveToFileSystem(path)
    this.ended = new Promise(resolve => {
      webm.pipe(async (o: any) => {
        try {
          if (await save(o)) { resolve() }
        } catch (err: any) {
          onError(err)
          resolve()
        }
      })
    })
    const sub = track.onReceiveRtp.subscribe((rtp: RtpPacket) => { this.source.input(rtp.clone()) })
    this.unsubscribe = () => { sub.unSubscribe() }
  }

  /** Stop taking packets, flush, write Cues, Duration and the segment size. */
  async stop (): Promise<void> {
    this.unsubscribe()
    this.source.stop()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.ended, new Promise(resolve => { timer = setTimeout(resolve, CLOSE_TIMEOUT) })])
    clearTimeout(timer)
  }
}
