/** Defaults of `BootstrapInit` (documented there), in ms: each dial's deadline, the backoff between failed dials, and how often a kept connection is looked at. */
export const DEFAULTS = { dialTimeout: 10_000, initialBackoff: 1_000, maxBackoff: 30_000, checkInterval: 5_000 }
