/** The few DOM helpers the views share. */

/** An element of index.html, by id. */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const el = document.getElementById(id)
  if (el == null) { throw new Error(`missing #${id}`) }
  return el as T
}

export interface Props {
  class?: string
  text?: string
  hidden?: boolean
  title?: string
  /** data-* attributes; undefined leaves one out */
  data?: Record<string, string | undefined>
}

/** A new element with a class, text and data-* attributes, and children. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props.class != null) { el.className = props.class }
  if (props.text != null) { el.textContent = props.text }
  if (props.hidden != null) { el.hidden = props.hidden }
  if (props.title != null) { el.title = props.title }
  if (props.data != null) { setData(el, props.data) }
  el.append(...children)
  return el
}

/** Write data-* attributes: a string sets one, undefined removes it. The page only writes them, never reads them back. */
export function setData (el: HTMLElement, data: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(data)) {
    if (value == null) { delete el.dataset[key] } else { el.dataset[key] = value }
  }
}

/** A video element that plays as soon as it has a stream. */
export function videoElement (cls: string): HTMLVideoElement {
  const v = document.createElement('video')
  v.autoplay = true
  v.playsInline = true
  v.className = cls
  return v
}

/** Show a stream in a video element (only when it changes: resetting srcObject restarts playback). */
export function show (video: HTMLVideoElement, stream: MediaStream | undefined): void {
  if (video.srcObject === (stream ?? null)) { return }
  video.srcObject = stream ?? null
  if (stream != null) { void video.play().catch(() => {}) }
}

/**
 * Whether a video element is stuck: it has a live, unmuted video track to show and is not paused, yet has no frame
 * at all (HAVE_NOTHING). Seen once in CI on a loaded machine: the call decoded 329 frames of the track while the
 * tile's element stayed at readyState 0 (Debian's chromium, three pages and a terminal peer on 2 cores).
 */
export function stuck (video: HTMLVideoElement): boolean {
  const stream = video.srcObject
  if (!(stream instanceof MediaStream) || video.paused || video.readyState !== HTMLMediaElement.HAVE_NOTHING) { return false }
  return stream.getVideoTracks().some(t => t.readyState === 'live' && !t.muted)
}

/** Give a stuck element its stream again: a new media player, which starts from the track's next frame. */
export function reload (video: HTMLVideoElement): void {
  const stream = video.srcObject
  video.srcObject = null
  video.srcObject = stream
  void video.play().catch(() => {})
}

/** "on" / "off" for a flag the tests read, or nothing while it is unknown. */
export function onOff (value: boolean | undefined): string | undefined {
  if (value == null) { return undefined }
  return value ? 'on' : 'off'
}
