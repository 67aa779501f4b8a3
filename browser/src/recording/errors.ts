/** Errors of the browser recorder that the UI turns into sentences (recorder.ts: recordingError). */

/** This browser has no MediaRecorder that writes WebM. */
export class RecordingUnsupportedError extends Error {
  static readonly name = 'RecordingUnsupportedError'
  readonly name = 'RecordingUnsupportedError'
}

/** Less space left than a short recording needs. */
export class InsufficientSpaceError extends Error {
  static readonly name = 'InsufficientSpaceError'
  readonly name = 'InsufficientSpaceError'
}
