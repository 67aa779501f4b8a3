export class InvalidRoomKeyError extends Error {
  static readonly name = 'InvalidRoomKeyError'
  readonly name = 'InvalidRoomKeyError'
}

export class SealError extends Error {
  static readonly name = 'SealError'
  readonly name = 'SealError'
}
