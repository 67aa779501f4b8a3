export class InvalidBootstrapAddressError extends Error {
  static readonly name = 'InvalidBootstrapAddressError'
  readonly name = 'InvalidBootstrapAddressError'
}
