import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams, type PeerScore } from '@libp2p/gossipsub/score'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { epochOf, membershipProof, toHex, verifyMembershipProof, type ProofInput, type RoomKeys } from '../room-key/index.js'
import { openEnvelope, sealEnvelope, type OpenedEnvelope } from './envelope.js'
import { InvalidMessageError, NotAMemberError, ROOM_PROTOCOL } from './index.js'
import { Challenge, Hello, Presence, Proof, Role, Welcome, type Payload } from './pb/room.js'
import type { ChatMessage, MemberInfo, MemberRole, RecordingState, Room, RoomEvents, RoomServiceComponents } from './index.js'
import type { RoomConfig } from './service.js'
import type { Message } from '@libp2p/gossipsub'
import type { AbortOptions, Connection, Logger, PeerId, Startable } from '@libp2p/interface'
import { pbStream, type ProtobufStream } from '@libp2p/utils'

/** Multicodec of a raw block and of sha2-256: a rendezvous CID looks like any other content on the DHT. */
const RAW_CODEC = 0x55
const SHA2_256 = 0x12
/** Addresses of one member we pass on, at most (a node has a handful; more is noise or abuse). */
const MAX_ADDRS = 16
/** Members listed in one Welcome, at most. */
const MAX_MEMBERS = 256
/** Chat ids remembered for exactly-once delivery. */
const MAX_SEEN = 10_000
/** History handed over in one Welcome, in bytes at most: the newest entries that fit (the handshake limit is 1 MiB). */
const MAX_HISTORY_BYTES = 768 * 1024
/** Presence older than this is a replay, not news, in ms (generous: clocks differ; the per-author order check is the real guard). */
const MAX_PRESENCE_AGE = 10 * 60_000
/** How often member timeouts are checked, in ms. */
const SWEEP_INTERVAL = 1_000
/** Deadline for reaching a member we were told about, in ms. */
const DIAL_TIMEOUT = 15_000

interface MemberState {
  peerId: PeerId
  name: string
  present: boolean
  verified: boolean
  lastHeard: number
  disconnectedAt?: number
  /** Author timestamp of its LEAVE, so a late heartbeat cannot bring it back. */
  leftTs?: bigint
  /** Author timestamp of its newest presence message. */
  lastPresenceTs?: bigint
  addrs: Multiaddr[]
  role: MemberRole
  /** Author's clock when it started recording; undefined while it is not recording. */
  recordingSince?: number
}

interface HistoryEntry {
  id: string
  ts: number
  sealed: Uint8Array
}

export class RoomImpl extends TypedEventEmitter<RoomEvents> implements Room, Startable {
  readonly shortName: string
  readonly roomId: Uint8Array
  readonly role: MemberRole
  private recordingSince: number | undefined
  private readonly components: RoomServiceComponents
  private readonly config: RoomConfig
  private readonly keys: RoomKeys
  private readonly name: string
  private readonly log: Logger
  private readonly onClosed: () => void
  private readonly memberStates = new Map<string, MemberState>()
  private readonly connecting = new Set<string>()
  private readonly seen = new Set<string>()
  /** Envelopes opened by the validator, for the message event that follows. */
  private readonly opened = new WeakMap<Uint8Array, OpenedEnvelope>()
  /** Ends the discovery loop's pause early. */
  private wake?: AbortController
  /** Rendezvous records we asked the DHT to keep announcing. */
  private announced: CID[] = []
  private history: HistoryEntry[] = []
  private readonly shutdown = new AbortController()
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private left = false
  /** When this node joined: chat handed over in a Welcome is history only if it was written before then. */
  private joinedAt = Date.now()

  constructor (components: RoomServiceComponents, config: RoomConfig, keys: RoomKeys, name: string, onClosed: () => void, role: MemberRole = 'participant') {
    super()
    this.role = role
    this.components = components
    this.config = config
    this.keys = keys
    this.name = name
    this.shortName = keys.shortName
    this.roomId = keys.roomId
    this.onClosed = onClosed
    // never log anything derived from the key beyond the short name
    this.log = components.logger.forComponent(`freeflow:room:${keys.shortName}`)
  }

  private get pubsub (): NonNullable<RoomServiceComponents['pubsub']> {
    const pubsub = this.components.pubsub
    if (pubsub == null) throw new Error('gossipsub is not running')
    return pubsub
  }

  async start (): Promise<void> {
    const { topic } = this.keys
    this.joinedAt = Date.now()
    // a peer that sends messages that do not open is pushed out of the mesh, then ignored (thresholds are set
    // with gossipsub in protocols/overlay.ts)
    ;(this.pubsub as unknown as { score: PeerScore }).score.params.topics[topic] = createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1_000,
      timeInMeshCap: 3_600,
      firstMessageDeliveriesWeight: 0.5,
      firstMessageDeliveriesDecay: 0.9,
      firstMessageDeliveriesCap: 100,
      // chat is sparse: do not punish mesh peers for having nothing to say
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      invalidMessageDeliveriesWeight: -20,
      invalidMessageDeliveriesDecay: 0.9
    })
    this.pubsub.topicValidators.set(topic, this.validate)
    this.pubsub.addEventListener('message', this.onMessage)
    this.pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.pubsub.subscribe(topic)

    void this.publishPresence(Presence.Kind.JOIN)
    this.timers.push(setInterval(() => { void this.publishPresence(Presence.Kind.HEARTBEAT) }, this.config.heartbeatInterval))
    this.timers.push(setInterval(this.sweep, SWEEP_INTERVAL))
    void this.discover()
  }

  async stop (): Promise<void> {
    await this.leave()
  }

  members (): MemberInfo[] {
    return [...this.memberStates.values()].filter(m => m.present).map(infoOf)
  }

  get recording (): RecordingState | undefined {
    return this.recordingSince == null ? undefined : { since: this.recordingSince }
  }

  async setRecording (active: boolean, options: AbortOptions = {}): Promise<void> {
    if (this.left) throw new Error('this room was left')
    if (active === (this.recordingSince != null)) return
    this.recordingSince = active ? Date.now() : undefined
    options.signal?.throwIfAborted()
    // at once, not at the next heartbeat: the others must see a recording start as it starts
    await this.publishPresence(Presence.Kind.HEARTBEAT, true)
  }

  isMember (peerId: PeerId): boolean {
    const m = this.memberStates.get(peerId.toString())
    return m?.present === true && m.verified
  }

  async send (text: string, options: AbortOptions = {}): Promise<ChatMessage> {
    if (this.left) throw new Error('this room was left')
    if (text.length === 0) throw new InvalidMessageError('empty message')
    if (text.length > this.config.maxTextLength) throw new InvalidMessageError(`message longer than ${this.config.maxTextLength} characters`)
    const id = crypto.getRandomValues(new Uint8Array(16))
    const ts = Date.now()
    const sealed = await sealEnvelope(this.keys, this.components.peerId, this.components.privateKey, { ts: BigInt(ts), chat: { id, name: this.name, text } })
    const msg: ChatMessage = { id: toHex(id), from: this.components.peerId, name: this.name, text, ts, history: false }
    this.remember(msg.id, ts, sealed)
    options.signal?.throwIfAborted()
    await this.pubsub.publish(this.keys.topic, sealed)
    return msg
  }

  async leave (): Promise<void> {
    if (this.left) return
    this.left = true
    try {
      await this.publishPresence(Presence.Kind.LEAVE)
    } catch {}
    this.shutdown.abort()
    this.timers.forEach(t => { clearInterval(t) })
    for (const cid of this.announced) await this.components.contentRouting.cancelReprovide(cid).catch(() => {})
    this.announced = []
    const pubsub = this.components.pubsub
    if (pubsub != null) {
      pubsub.removeEventListener('message', this.onMessage)
      pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
      pubsub.topicValidators.delete(this.keys.topic)
      try { pubsub.unsubscribe(this.keys.topic) } catch {}
    }
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.onClosed()
  }

  // ---- presence ----

  private ownAddrs (): Array<Uint8Array<ArrayBuffer>> {
    return this.components.addressManager.getAddresses().slice(0, MAX_ADDRS).map(a => a.bytes as Uint8Array<ArrayBuffer>)
  }

  private async publishPresence (kind: Presence.Kind, rethrow = false): Promise<void> {
    try {
      const sealed = await sealEnvelope(this.keys, this.components.peerId, this.components.privateKey, {
        ts: BigInt(Date.now()),
        presence: { kind, name: this.name, addrs: kind === Presence.Kind.LEAVE ? [] : this.ownAddrs(), ...this.ownStatus() }
      })
      await this.pubsub.publish(this.keys.topic, sealed)
    } catch (err: any) {
      this.log.trace('could not publish presence - %e', err)
      if (rethrow) throw err
    }
  }

  private ownStatus (): { role: Role, recordingSince: bigint } {
    return { role: this.role === 'recorder' ? Role.RECORDER : Role.PARTICIPANT, recordingSince: BigInt(this.recordingSince ?? 0) }
  }

  /** A member's own word on its role and recording (a sealed presence or its Welcome); tells the app if it changed. */
  private status (m: MemberState, role: Role, recordingSince: bigint): void {
    const nextRole: MemberRole = role === Role.RECORDER ? 'recorder' : 'participant'
    // a start time is display only; clamp it so a member cannot claim to have been recording since the future
    const since = recordingSince === 0n ? undefined : Math.min(Number(recordingSince), Date.now())
    const changed = nextRole !== m.role || (since == null) !== (m.recordingSince == null)
    m.role = nextRole
    m.recordingSince = since
    if (changed && m.present && !this.left) {
      this.log('%p is now %s%s', m.peerId, nextRole, since == null ? '' : ', recording')
      this.safeDispatch('peer:update', infoOf(m))
    }
  }

  private member (peerId: PeerId): MemberState {
    const key = peerId.toString()
    let m = this.memberStates.get(key)
    if (m == null) {
      m = { peerId, name: '', present: false, verified: false, lastHeard: 0, addrs: [], role: 'participant' }
      this.memberStates.set(key, m)
    }
    return m
  }

  /** A member proved itself (handshake or a sealed message): it is present. */
  private heard (peerId: PeerId, name: string | undefined, addrs?: Multiaddr[], status?: { role: Role, recordingSince: bigint }): MemberState {
    const m = this.member(peerId)
    // the status goes with the join, so the app never shows a recording member as not recording
    if (status != null && !m.present) this.status(m, status.role, status.recordingSince)
    m.lastHeard = Date.now()
    m.disconnectedAt = undefined
    if (name != null && name !== '') m.name = name.slice(0, this.config.maxNameLength)
    if (addrs != null && addrs.length > 0) m.addrs = addrs
    if (!m.present && !this.left) {
      m.present = true
      this.log('%p joined as %s', peerId, m.name)
      this.safeDispatch('peer:join', infoOf(m))
    } else if (status != null) {
      this.status(m, status.role, status.recordingSince)
    }
    return m
  }

  private gone (m: MemberState, reason: 'left' | 'timeout'): void {
    m.verified = false
    if (!m.present) return
    m.present = false
    this.log('%p left (%s)', m.peerId, reason)
    const info = infoOf(m)
    // a recording that is not renewed by the member's own word is not shown after it is gone
    m.recordingSince = undefined
    this.safeDispatch('peer:leave', { ...info, reason })
  }

  private safeDispatch<K extends keyof RoomEvents> (type: K, detail: RoomEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail } as any)
    } catch (err: any) {
      this.log.error('a %s listener threw - %e', type, err)
    }
  }

  private readonly sweep = (): void => {
    const now = Date.now()
    for (const m of this.memberStates.values()) {
      if (!m.present) continue
      const silent = now - m.lastHeard > this.config.leaveTimeout
      const disconnected = m.disconnectedAt != null && now - m.disconnectedAt > this.config.disconnectGrace && m.lastHeard <= m.disconnectedAt
      if (silent || disconnected) this.gone(m, 'timeout')
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const m = this.memberStates.get(evt.detail.toString())
    if (m?.present !== true) return
    m.disconnectedAt = Date.now()
    m.verified = false
    // a relayed connection expires by design: try to get back to a member that is still talking
    setTimeout(() => {
      if (!this.left && m.present && this.components.connectionManager.getConnections(m.peerId).length === 0) {
        this.connect(m.peerId, m.addrs)
      }
    }, 500)
  }

  private readonly onSubscriptionChange = (evt: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    const { peerId, subscriptions } = evt.detail
    if (subscriptions.some(s => s.topic === this.keys.topic && s.subscribe)) {
      if (this.memberStates.get(peerId.toString())?.verified !== true) this.connect(peerId, [])
    }
  }

  // ---- the topic ----

  private readonly validate = async (peer: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    try {
      const opened = await openEnvelope(this.keys, msg.data)
      if (!opened.from.equals(msg.from)) throw new InvalidMessageError('author is not the gossipsub signer')
      // the 'message' event that follows carries the same bytes: do not decrypt and verify them twice
      this.opened.set(msg.data, opened)
      return TopicValidatorResult.Accept
    } catch (err: any) {
      this.log('rejected a message from %p via %p - %e', msg.from, peer, err)
      return TopicValidatorResult.Reject
    }
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== this.keys.topic || msg.type !== 'signed') return
    const validated = this.opened.get(msg.data)
    if (validated != null) {
      this.opened.delete(msg.data)
      this.onEnvelope(validated, msg.data)
      return
    }
    openEnvelope(this.keys, msg.data)
      .then(opened => { this.onEnvelope(opened, msg.data) })
      .catch(err => { this.log('dropped a message from %p - %e', msg.from, err) })
  }

  private onEnvelope ({ from, payload }: OpenedEnvelope, sealed: Uint8Array): void {
    if (this.left || from.equals(this.components.peerId)) return
    if (payload.presence != null) {
      this.onPresence(from, payload, payload.presence)
    } else if (payload.chat != null) {
      const m = this.heard(from, payload.chat.name)
      const msg = this.toChat(from, payload, false)
      if (msg == null || !this.remember(msg.id, msg.ts, sealed)) return
      if (m.name === '') m.name = msg.name
      this.safeDispatch('chat', msg)
    }
  }

  private onPresence (from: PeerId, payload: Payload, presence: Presence): void {
    const m = this.member(from)
    if (m.leftTs != null && payload.ts <= m.leftTs) return
    // a recorded heartbeat replayed later must not bring a member back
    if (Number(payload.ts) < Date.now() - MAX_PRESENCE_AGE || (m.lastPresenceTs != null && payload.ts <= m.lastPresenceTs)) return
    m.lastPresenceTs = payload.ts
    if (presence.kind === Presence.Kind.LEAVE) {
      m.leftTs = payload.ts
      this.gone(m, 'left')
      return
    }
    const addrs = decodeAddrs(presence.addrs)
    this.heard(from, presence.name, addrs, presence)
    if (this.components.connectionManager.getConnections(from).length === 0 || !m.verified) this.connect(from, addrs)
  }

  private toChat (from: PeerId, payload: Payload, history: boolean): ChatMessage | undefined {
    const chat = payload.chat
    if (chat == null || chat.id.length !== 16 || chat.text.length === 0 || chat.text.length > this.config.maxTextLength) return undefined
    return { id: toHex(chat.id), from, name: chat.name.slice(0, this.config.maxNameLength), text: chat.text, ts: Number(payload.ts), history }
  }

  /** Record a chat message once; false if it was seen before. */
  private remember (id: string, ts: number, sealed: Uint8Array): boolean {
    if (this.seen.has(id)) return false
    this.seen.add(id)
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value as string)
    // order by the author's clock, but never later than now: a member cannot pin its messages to the end
    this.history.push({ id, ts: Math.min(ts, Date.now()), sealed })
    this.history.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1))
    if (this.history.length > this.config.historySize) this.history = this.history.slice(-this.config.historySize)
    return true
  }

  // ---- discovery ----

  private async rendezvousCid (epoch: number): Promise<CID> {
    return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, await this.keys.rendezvous(epoch)))
  }

  private async discover (): Promise<void> {
    const signal = this.shutdown.signal
    let provided = ''
    let pause = 250
    while (!signal.aborted) {
      const epoch = epochOf()
      // a record without addresses is dropped by DHT servers: announce once we can be reached (a browser only
      // can after its relay reservation), and again when the epoch or our addresses change
      const addrs = this.components.addressManager.getAddresses().map(a => a.toString()).sort().join(' ')
      const wanted = `${epoch} ${addrs}`
      if (addrs !== '' && provided !== wanted) {
        try {
          const cid = await this.rendezvousCid(epoch)
          await this.components.contentRouting.provide(cid, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) })
          provided = wanted
          // a past epoch's record must not be announced again (kad-dht re-provides what it was given)
          for (const old of this.announced) {
            if (!old.equals(cid)) await this.components.contentRouting.cancelReprovide(old).catch(() => {})
          }
          this.announced = [cid]
          this.log('announced on the DHT for epoch %d', epoch)
        } catch (err: any) {
          this.log('could not announce on the DHT yet - %e', err)
        }
      }
      for (const e of [epoch, epoch - 1]) {
        try {
          const cid = await this.rendezvousCid(e)
          for await (const provider of this.components.contentRouting.findProviders(cid, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })) {
            if (provider.id.equals(this.components.peerId)) continue
            this.connect(provider.id, provider.multiaddrs)
          }
        } catch (err: any) {
          if (!signal.aborted) this.log.trace('DHT lookup for epoch %d ended - %e', e, err)
        }
      }
      this.wake = new AbortController()
      await sleep(pause, AbortSignal.any([signal, this.wake.signal]))
      pause = this.wake.signal.aborted ? 250 : Math.min(pause * 2, this.config.maxLookupInterval)
    }
  }

  /** A peer that serves the DHT was identified: look again now, the first lookups may have found nobody to ask. */
  private readonly onIdentify = (evt: CustomEvent<{ protocols: string[] }>): void => {
    if (evt.detail.protocols.some(p => p.includes('/kad/'))) this.wake?.abort()
  }

  /** Reach a (possible) member and run the handshake with it, unless that is done or under way. */
  private connect (peerId: PeerId, addrs: Multiaddr[]): void {
    const key = peerId.toString()
    if (this.left || peerId.equals(this.components.peerId) || this.connecting.has(key)) return
    const m = this.memberStates.get(key)
    if (m?.verified === true && this.components.connectionManager.getConnections(peerId).length > 0) return
    this.connecting.add(key)
    void (async () => {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(DIAL_TIMEOUT)])
      try {
        if (addrs.length > 0) await this.components.peerStore.merge(peerId, { multiaddrs: addrs })
        const connection = await this.components.connectionManager.openConnection(peerId, { signal })
        await this.initiate(connection, signal)
      } catch (err: any) {
        this.log('could not reach %p - %e', peerId, err)
      } finally {
        this.connecting.delete(key)
      }
    })()
  }

  // ---- the handshake ----

  private async initiate (connection: Connection, signal: AbortSignal): Promise<void> {
    const stream = await connection.newStream(ROOM_PROTOCOL, { signal, runOnLimitedConnection: true })
    const pb = pbStream(stream, { maxDataLength: this.config.maxMessageSize })
    try {
      const nonce = crypto.getRandomValues(new Uint8Array(32))
      await pb.write({ roomId: this.keys.roomId as Uint8Array<ArrayBuffer>, nonce }, Hello, { signal })
      const challenge = await pb.read(Challenge, { signal })
      const input: ProofInput = {
        roomId: this.keys.roomId,
        initiator: this.components.peerId.toMultihash().bytes,
        responder: connection.remotePeer.toMultihash().bytes,
        initiatorNonce: nonce,
        responderNonce: challenge.nonce
      }
      if (challenge.nonce.length !== 32 || !await verifyMembershipProof(this.keys.proofKey, 'responder', input, challenge.proof)) {
        throw new NotAMemberError('peer could not prove it holds the room key')
      }
      await pb.write({ proof: new Uint8Array(await membershipProof(this.keys.proofKey, 'initiator', input)) }, Proof, { signal })
      await pb.write(this.welcomeFor(connection.remotePeer), Welcome, { signal })
      const welcome = await pb.read(Welcome, { signal, limits: this.welcomeLimits() })
      await stream.close({ signal })
      await this.onWelcome(connection.remotePeer, welcome)
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  /** The responder's side; the service has read Hello and found this room. Throws to reset the stream. */
  async respond (pb: ProtobufStream, hello: Hello, connection: Connection, signal: AbortSignal): Promise<void> {
    if (this.left) throw new NotAMemberError('not in that room')
    const nonce = crypto.getRandomValues(new Uint8Array(32))
    const input: ProofInput = {
      roomId: this.keys.roomId,
      initiator: connection.remotePeer.toMultihash().bytes,
      responder: this.components.peerId.toMultihash().bytes,
      initiatorNonce: hello.nonce,
      responderNonce: nonce
    }
    await pb.write({ nonce, proof: await membershipProof(this.keys.proofKey, 'responder', input) as Uint8Array<ArrayBuffer> }, Challenge, { signal })
    const proof = await pb.read(Proof, { signal })
    if (!await verifyMembershipProof(this.keys.proofKey, 'initiator', input, proof.proof)) {
      throw new NotAMemberError('peer could not prove it holds the room key')
    }
    const welcome = await pb.read(Welcome, { signal, limits: this.welcomeLimits() })
    await pb.write(this.welcomeFor(connection.remotePeer), Welcome, { signal })
    await pb.unwrap().close({ signal })
    await this.onWelcome(connection.remotePeer, welcome)
  }

  private welcomeLimits (): any {
    return { members: MAX_MEMBERS, history: this.config.historySize, members$: { addrs: MAX_ADDRS } }
  }

  private welcomeFor (remote: PeerId): Welcome {
    const members = [...this.memberStates.values()]
      .filter(m => m.present && !m.peerId.equals(remote))
      .slice(0, MAX_MEMBERS)
      .map(m => ({ peerId: m.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: m.name, addrs: m.addrs.slice(0, MAX_ADDRS).map(a => a.bytes as Uint8Array<ArrayBuffer>) }))
    const history: Array<Uint8Array<ArrayBuffer>> = []
    let bytes = 0
    for (let i = this.history.length - 1; i >= 0; i--) {
      bytes += this.history[i].sealed.length + 4
      if (bytes > MAX_HISTORY_BYTES) break
      history.unshift(this.history[i].sealed as Uint8Array<ArrayBuffer>)
    }
    return { name: this.name, members, history, ...this.ownStatus() }
  }

  private async onWelcome (remote: PeerId, welcome: Welcome): Promise<void> {
    const m = this.heard(remote, welcome.name.slice(0, this.config.maxNameLength), undefined, welcome)
    m.verified = true
    for (const member of welcome.members) {
      try {
        const peerId = peerIdFromMultihash(Digest.decode(member.peerId))
        if (peerId.equals(this.components.peerId)) continue
        const known = this.memberStates.get(peerId.toString())
        if (known?.verified === true) continue
        this.connect(peerId, decodeAddrs(member.addrs))
      } catch (err: any) {
        this.log('ignored a malformed member from %p - %e', remote, err)
      }
    }
    const fresh: Array<{ msg: ChatMessage, sealed: Uint8Array }> = []
    for (const sealed of welcome.history) {
      try {
        const opened = await openEnvelope(this.keys, sealed)
        const msg = this.toChat(opened.from, opened.payload, true)
        if (msg == null || this.seen.has(msg.id)) continue
        // a handshake may hand over a message that is also on its way live: it is not history for us
        msg.history = msg.ts < this.joinedAt
        fresh.push({ msg, sealed })
      } catch (err: any) {
        this.log('ignored a history entry from %p - %e', remote, err)
      }
    }
    fresh.sort((a, b) => a.msg.ts - b.msg.ts || (a.msg.id < b.msg.id ? -1 : 1))
    for (const { msg, sealed } of fresh) {
      if (this.remember(msg.id, msg.ts, sealed)) this.safeDispatch('chat', msg)
    }
  }
}

function infoOf (m: MemberState): MemberInfo {
  return { peerId: m.peerId, name: m.name, role: m.role, ...(m.recordingSince == null ? {} : { recording: { since: m.recordingSince } }) }
}

function decodeAddrs (list: Uint8Array[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const bytes of list.slice(0, MAX_ADDRS)) {
    try { out.push(multiaddr(bytes)) } catch {}
  }
  return out
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}

export const _internal = { decodeAddrs }
