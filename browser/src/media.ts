/**
 * This person's camera and microphone: which devices there are, which are in use, whether the page may use them,
 * and the stream they give. Media can arrive at any time (a permission answered late, a device switched, plugged in
 * or unplugged): every arrival is a `change`, and whoever sends the stream (the call) follows it.
 */
import { TypedEventEmitter } from 'main-event'

/** What the page knows about being allowed to use the camera and microphone. */
export type MediaAccess =
  /** not asked yet */
  | 'unknown'
  /** the browser is asking the person, or the devices are starting */
  | 'asking'
  /** at least one of them gives a stream */
  | 'granted'
  /** the person or the site settings said no */
  | 'denied'
  /** no device, or every device is busy or broken */
  | 'unavailable'

export interface Device {
  id: string
  label: string
}

export type DeviceKind = 'camera' | 'microphone'

export interface LocalMediaEvents {
  change: CustomEvent<void>
}

/** One sentence for each way getting the camera and microphone can fail. */
export function mediaError (err: any): string {
  switch (err?.name) {
    case 'NotAllowedError': case 'SecurityError':
      return 'Camera and microphone are blocked for this page. You can still join and chat; allow them in the site settings to be seen and heard.'
    case 'NotFoundError': case 'OverconstrainedError':
      return 'No camera or microphone was found. You can still join and chat.'
    case 'NotReadableError':
      return 'The camera or microphone is busy in another program. You can still join and chat.'
    default:
      return `Camera and microphone are unavailable (${String(err?.message ?? err)}). You can still join and chat.`
  }
}

function accessAfter (err: any): MediaAccess {
  return err?.name === 'NotAllowedError' || err?.name === 'SecurityError' ? 'denied' : 'unavailable'
}

export class LocalMedia extends TypedEventEmitter<LocalMediaEvents> {
  /** Camera video and microphone audio, as far as the page got them. */
  stream: MediaStream | undefined
  access: MediaAccess = 'unknown'
  /** What the preview says instead of the picture; undefined when the camera shows. */
  note: string | undefined
  /** Why the last device switch did not take (the devices in use stay); undefined after a success. */
  switchError: string | undefined
  cameras: Device[] = []
  microphones: Device[] = []
  /** The person's choice: on unless they muted. The microphone is on when there is one and it is wanted. */
  micWanted = true
  cameraWanted = true
  private readonly chosen: Partial<Record<DeviceKind, string>> = {}
  /** Each acquisition gets a number; only the latest one's stream is kept. */
  private generation = 0
  private retry?: ReturnType<typeof setTimeout>
  private stopped = false
  private readonly cleanups: Array<() => void> = []

  get hasAudio (): boolean { return (this.stream?.getAudioTracks().length ?? 0) > 0 }
  get hasVideo (): boolean { return (this.stream?.getVideoTracks().length ?? 0) > 0 }
  get micOn (): boolean { return this.hasAudio && this.micWanted }
  get cameraOn (): boolean { return this.hasVideo && this.cameraWanted }

  /** The device in use for a kind, else the one chosen, else none. */
  deviceId (kind: DeviceKind): string | undefined {
    const track = kind === 'camera' ? this.stream?.getVideoTracks()[0] : this.stream?.getAudioTracks()[0]
    return track?.getSettings().deviceId ?? this.chosen[kind]
  }

  /** Ask for the camera and microphone, and follow devices and permissions from now on. */
  async start (): Promise<void> {
    const md = navigator.mediaDevices
    if (md != null) {
      const onDeviceChange = (): void => { void this.onDeviceChange() }
      md.addEventListener('devicechange', onDeviceChange)
      this.cleanups.push(() => { md.removeEventListener('devicechange', onDeviceChange) })
    }
    void this.watchPermissions()
    await this.acquire()
  }

  /** Use another camera or microphone: the stream is replaced, and whoever sends it follows. */
  async select (kind: DeviceKind, id: string): Promise<void> {
    this.chosen[kind] = id
    await this.acquire()
  }

  setMic (on: boolean): void {
    this.micWanted = on
    this.stream?.getAudioTracks().forEach(t => { t.enabled = on })
    this.changed()
  }

  setCamera (on: boolean): void {
    this.cameraWanted = on
    this.stream?.getVideoTracks().forEach(t => { t.enabled = on })
    this.changed()
  }

  /** Release the devices and stop following them. */
  stop (): void {
    this.stopped = true
    this.generation++
    clearTimeout(this.retry)
    this.cleanups.splice(0).forEach(f => { f() })
    this.stream?.getTracks().forEach(t => { t.stop() })
    this.stream = undefined
    this.changed()
  }

  /**
   * Get a stream for the chosen devices (camera and microphone, else either one), replace the current one with it,
   * and only then stop the old tracks, so a call keeps sending until the new tracks are there.
   */
  async acquire (): Promise<void> {
    if (this.stopped || navigator.mediaDevices?.getUserMedia == null) {
      if (!this.stopped) { this.fail(new DOMException('this browser gives the page no camera or microphone', 'NotSupportedError')) }
      return
    }
    const generation = ++this.generation
    clearTimeout(this.retry)
    if (this.stream == null) {
      this.access = 'asking'
      this.note = 'Waiting for the camera and microphone (the browser may ask you to allow them)…'
      this.changed()
    }
    await this.listDevices()
    const pick = (kind: DeviceKind, list: Device[]): ConstrainDOMString | undefined => {
      const id = this.chosen[kind]
      // a chosen device that was unplugged is no choice any more: the default one serves
      return id != null && list.some(d => d.id === id) ? { exact: id } : undefined
    }
    const cameraId = pick('camera', this.cameras)
    const micId = pick('microphone', this.microphones)
    const video: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...(cameraId != null ? { deviceId: cameraId } : {}) }
    const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, ...(micId != null ? { deviceId: micId } : {}) }
    let stream: MediaStream | undefined
    let firstError: any
    for (const constraints of [{ video, audio }, { audio }, { video }]) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(constraints)
        break
      } catch (err: any) {
        firstError ??= err
        if (accessAfter(err) === 'denied') { break }
      }
    }
    if (generation !== this.generation) {
      // a newer request (another device chosen meanwhile), or stop(): this one is not wanted any more
      stream?.getTracks().forEach(t => { t.stop() })
      return
    }
    if (stream == null) {
      this.fail(firstError)
      return
    }
    const old = this.stream
    this.stream = stream
    this.access = 'granted'
    this.switchError = undefined
    this.note = stream.getVideoTracks().length > 0 ? undefined : 'No camera: others will see your name.'
    stream.getAudioTracks().forEach(t => { t.enabled = this.micWanted })
    stream.getVideoTracks().forEach(t => { t.enabled = this.cameraWanted })
    for (const track of stream.getTracks()) {
      // unplugged, or taken away by the browser: get what is left
      track.addEventListener('ended', () => { if (this.stream === stream) { this.scheduleAcquire() } })
    }
    await this.listDevices()
    // the old tracks go whatever happened meanwhile: a newer request (a second device chosen at once) replaces this
    // stream, not the old one, which nothing would stop any more (its camera light would stay on)
    if (!this.stopped) { this.changed() }
    old?.getTracks().forEach(t => { t.stop() })
  }

  private fail (err: any): void {
    const live = this.stream?.getTracks().some(t => t.readyState === 'live') === true
    if (live) {
      // switching failed: keep what works, and say why the choice did not take
      this.switchError = mediaError(err).replace(/ You can still join and chat\.$/, '')
      this.changed()
      return
    }
    this.stream?.getTracks().forEach(t => { t.stop() })
    this.stream = undefined
    this.access = accessAfter(err)
    this.note = mediaError(err)
    this.changed()
  }

  private scheduleAcquire (): void {
    clearTimeout(this.retry)
    this.retry = setTimeout(() => { void this.acquire() }, 200)
  }

  private async listDevices (): Promise<void> {
    let devices: MediaDeviceInfo[] = []
    try {
      devices = await navigator.mediaDevices.enumerateDevices()
    } catch {
      // no list: the selects stay empty, the default devices serve
    }
    const list = (kind: MediaDeviceKind, name: string): Device[] => devices
      .filter(d => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ id: d.deviceId, label: d.label !== '' ? d.label : `${name} ${i + 1}` }))
    this.cameras = list('videoinput', 'Camera')
    this.microphones = list('audioinput', 'Microphone')
  }

  /** A device plugged in while the page had none of its kind (or had lost one): try again. */
  private async onDeviceChange (): Promise<void> {
    await this.listDevices()
    const ended = this.stream?.getTracks().some(t => t.readyState === 'ended') === true
    const missing = (!this.hasVideo && this.cameras.length > 0) || (!this.hasAudio && this.microphones.length > 0)
    if ((ended || missing) && this.access !== 'denied' && this.access !== 'asking') {
      this.scheduleAcquire()
    } else {
      this.changed()
    }
  }

  /** A permission granted in the site settings after a refusal: get the devices without a reload. */
  private async watchPermissions (): Promise<void> {
    for (const name of ['camera', 'microphone']) {
      try {
        const status = await navigator.permissions.query({ name: name as PermissionName })
        const onChange = (): void => {
          if (status.state === 'granted' && (!this.hasVideo || !this.hasAudio) && this.access !== 'asking') { this.scheduleAcquire() }
        }
        status.addEventListener('change', onChange)
        this.cleanups.push(() => { status.removeEventListener('change', onChange) })
      } catch {
        // this browser cannot tell about this permission: a reload picks it up
      }
    }
  }

  private changed (): void {
    this.safeDispatchEvent('change')
  }
}
