/**
 * The connectivity check of the pre-join screen, as state the view renders: each check's result as it comes. It runs
 * on the page's node when there is one (in a call); before Join it starts a short-lived node of its own (a fresh
 * identity, no listen addresses, so it reserves nothing on the relay), and stops it when the check is over.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import { checkConnectivity } from '../../protocols/doctor/index.ts'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import { bootstrapAddrs } from './link.ts'
import type { AppState } from './state.ts'
import type { CheckName, CheckResult, DoctorInit } from '../../protocols/doctor/index.ts'

export type DoctorPhase = 'idle' | 'running' | 'done'

export interface DoctorEvents {
  /** The phase or a check's result changed. */
  change: CustomEvent<void>
}

export const CHECKS: CheckName[] = ['relay', 'stun', 'turn']

/** A node that only checks: bootstrap and TURN client services, nothing listening, nothing joined. */
async function checkNode (bootstrap: string[]): Promise<{ services: Required<Pick<DoctorInit, 'bootstrap' | 'turn'>>, stop(): Promise<void> }> {
  const node = await createLibp2p(overlayOptions({ role: 'peer', privateKey: await generateKeyPair('Ed25519'), listen: [], bootstrap }))
  return node as any
}

export class DoctorControl extends TypedEventEmitter<DoctorEvents> {
  phase: DoctorPhase = 'idle'
  /** Each check's result, once known; a check without one is still running (or not started). */
  readonly results = new Map<CheckName, CheckResult>()
  private running: AbortController | undefined

  constructor (private readonly state: AppState) {
    super()
  }

  /** Run the three checks (a second call while they run does nothing). */
  async run (): Promise<void> {
    if (this.phase === 'running') { return }
    const running = this.running = new AbortController()
    const signal = running.signal
    this.results.clear()
    this.setPhase('running')
    let own: Awaited<ReturnType<typeof checkNode>> | undefined
    try {
      let services: Pick<DoctorInit, 'bootstrap' | 'turn'> = this.state.node?.services ?? {}
      let relays: number | undefined
      if (this.state.node == null) {
        const addrs = await bootstrapAddrs({ signal })
        relays = addrs.length
        if (addrs.length > 0) { services = (own = await checkNode(addrs)).services }
      }
      await checkConnectivity({
        RTCPeerConnection: globalThis.RTCPeerConnection,
        bootstrap: services.bootstrap,
        turn: services.turn,
        relays,
        onResult: r => {
          this.results.set(r.name, r)
          this.safeDispatchEvent('change')
        }
      }, { signal })
    } catch (err: any) {
      if (!signal.aborted) {
        const relay: CheckResult = { name: 'relay', status: 'fail', detail: `The check could not run: ${String(err?.message ?? err)}.`, advice: 'Reload the page and check again.' }
        for (const name of CHECKS) { if (!this.results.has(name)) { this.results.set(name, name === 'relay' ? relay : { name, status: 'skip', detail: 'Needs a relay.' }) } }
      }
    } finally {
      await own?.stop().catch(() => {})
      if (this.running === running) {
        this.running = undefined
        this.setPhase('done')
      }
    }
  }

  /** Stop a check that runs (the page goes on to the call, or away). */
  stop (): void {
    this.running?.abort()
  }

  private setPhase (phase: DoctorPhase): void {
    this.phase = phase
    this.safeDispatchEvent('change')
  }
}
