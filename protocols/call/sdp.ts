/** What the call code reads from and changes in an SDP: the start bitrate of video, and a description's origin. */

/** Add x-google-start-bitrate to every video codec in an SDP, so that video starts at a useful quality. */
export function withStartBitrate (sdp: string, kbps: number): string {
  const lines = sdp.split('\r\n')
  const videoPts = new Set<string>()
  for (const line of lines) {
    if (line.startsWith('m=video')) { line.split(' ').slice(3).forEach(pt => videoPts.add(pt)) }
  }
  const hasFmtp = new Set<string>()
  const result = lines.map(line => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(line)
    if (m != null && videoPts.has(m[1])) {
      hasFmtp.add(m[1])
      if (!m[2].includes('x-google-start-bitrate')) { return `${line};x-google-start-bitrate=${kbps}` }
    }
    return line
  })
  // codecs with no fmtp line get one after their rtpmap
  const final: string[] = []
  for (const line of result) {
    final.push(line)
    const m = /^a=rtpmap:(\d+) ([^/]+)/.exec(line)
    if (m != null && videoPts.has(m[1]) && !hasFmtp.has(m[1]) && !/^(rtx|red|ulpfec|flexfec)/i.test(m[2])) {
      final.push(`a=fmtp:${m[1]} x-google-start-bitrate=${kbps}`)
    }
  }
  return final.join('\r\n')
}

/**
 * A description's `o=` line: its origin and version. A browser keeps the session id of one RTCPeerConnection and
 * raises the version with every new description (werift draws a new id each time); candidates gathered later do not
 * change it. So the same line twice is the same description sent twice, which a receiver must not apply again.
 */
export function originOf (sdp: string): string {
  return /^o=(.*)$/m.exec(sdp)?.[1]?.trim() ?? ''
}

/** The direction the SDP `sdp` gives its m-section `mid`, as its sender sees it ('sendrecv' when it says none). */
export function offeredDirection (sdp: string, mid: string): string {
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = section.split(/\r?\n/).map(l => l.trim())
    if (!lines.includes(`a=mid:${mid}`)) { continue }
    return lines.find(l => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))?.slice(2) ?? 'sendrecv'
  }
  return 'inactive'
}

/** Whether a transceiver is stopped, or stopping (a browser's `stopped` went away; werift still has it). */
export function isStopped (t: RTCRtpTransceiver): boolean {
  return (t as { stopped?: boolean }).stopped === true || t.currentDirection === 'stopped' || t.direction === 'stopped'
}

/** Whether the side whose direction this is sends on that m-line. */
export function sends (direction: string | null): boolean {
  return direction === 'sendrecv' || direction === 'sendonly'
}

/** Whether the side whose direction this is receives on that m-line. */
export function receives (direction: string | null): boolean {
  return direction === 'sendrecv' || direction === 'recvonly'
}
