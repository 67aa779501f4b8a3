import { WEBRTC_DIAL_TIMEOUT } from '../dial/index.ts'
import type { DirectInit } from './index.ts'

/** Defaults of `DirectInit` (documented there): each dial's deadline and attempts, the backoff between rounds, and how often a kept connection is looked at. */
export const DEFAULTS: Required<DirectInit> = { dialTimeout: WEBRTC_DIAL_TIMEOUT, attempts: 2, initialBackoff: 1_000, maxBackoff: 30_000, checkInterval: 30_000 }
