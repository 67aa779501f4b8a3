/**
 * One joined room: the facade that wires the parts together. The member state machine (members.ts), chat history
 * (history.ts), the topic validator (topic.ts), DHT rendezvous (discovery.ts) and the handshake (handshake.ts) each
 * live in their own module; here they meet gossipsub, the connection manager and the app's events. Every loop and
 * pause ends with the room's shutdown signal, which `leave()` aborts.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import * as Digest from 'multiformats/hashes/digest'
import { addrsVia } from '../direct/addrs.ts'
import { toHex } from '../room-key/index.ts'
import { raceSignal } from '../util/abort.ts'
import { sleep } from '../util/backoff.ts'
import { decodeAddrs } from './codec.ts'
import { CHAT_BURST, CHAT_ID_BYTES, CHAT_RATE, CHAT_RECEIVE_SLACK, DIAL_TIMEOUT, MAX_ADDRS, MAX_CHAT_AUTHORS, MAX_PRESENCE_AGE, MAX_STATES, MAX_UNPROVEN_DIALS, REDIAL_DELAY, ROOM_PROTOCOL, SWEEP_INTERVAL, UNPROVEN_RETRY } from './constants.ts'
import { Discovery } from './discovery.ts'
import { sealEnvelope } from './envelope.ts'
import { ChatRateError, InvalidMessageError, MissingPubsubError, RoomLeftError } from './errors.ts'
import { initiateHandshake } from './handshake.ts'
import { ChatHistory, chatMessage } from './history.ts'
import { Members } from './members.ts'
import { Presence, Role } from './pb/room.ts'
import { ChatRate } from './rate.ts'
import { safeName } from './text.ts'
import { RoomTopic, scoreTopic } from './topic.ts'
import type { RoomConfig } from './constants.ts'
import type { OpenedEnvelope } from './envelope.ts'
import type { HandshakeInit, HandshakeParty } from './handshake.ts'
import type { ChatDropped, ChatMessage, MemberInfo, MemberRole, RecordingState, Room, RoomEvents, RoomServiceComponents } from './index.ts'
import type { MemberState } from './members.ts'
import type { Payload, Welcome } from './pb/room.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { Message } from '@libp2p/gossipsub'
import type { AbortOptions, Connection, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RoomInit {
  keys: RoomKeys
  /** Display name, already trimmed and cut. */
  name: string
  role: MemberRole
  /** Called once, when `leave()` starts: the service forgets the room. */
  onClosed(): void
}

export class RoomImpl extends TypedEventEmitter<RoomEvents> implements Room, HandshakeParty {
  readonly shortName: string
  readonly roomId: Uint8Array
  readonly role: MemberRole
  readonly keys: RoomKeys
  private recordingSince: number | undefined
  private readonly components: RoomServiceComponents
  private readonly config: RoomConfig
  private readonly name: string
  private readonly log: Logger
  private readonly onClosed: () => void
  private readonly roster: Members
  private readonly history: ChatHistory
  /** Each author's chat rate, as received. */
  private readonly received = new ChatRate({ burst: CHAT_BURST + CHAT_RECEIVE_SLACK, rate: CHAT_RATE, maxAuthors: MAX_CHAT_AUTHORS })
  /** This node's own chat rate: it sends no more than the others take. */
  private readonly sending = new ChatRate({ burst: CHAT_BURST, rate: CHAT_RATE, maxAuthors: 1 })
  readonly chatDropped: ChatDropped = { rate: 0, stale: 0, duplicate: 0 }
  private readonly topic: RoomTopic
  private readonly discovery: Discovery
  private readonly connecting = new Set<string>()
  /** Peers this node had a reason to reach (connect's callers), oldest first: their subscription is worth a dial. */
  private readonly expected = new Set<string>()
  /** Authors of presence that a member forwarded but that never completed a handshake: when they were last dialled. */
  private readonly unproven = new Map<string, number>()
  private unprovenDials = 0
  private readonly shutdown = new AbortController()
  private leaving?: Promise<void>
  /** When this node joined: chat handed over in a Welcome is history only if it was written before then. */
  private joinedAt = Date.now()

  constructor (components: RoomServiceComponents, config: RoomConfig, init: RoomInit) {
    super()
    this.components = components
    this.config = config
    this.keys = init.keys
    this.name = safeName(init.name)
    this.role = init.role
    this.onClosed = init.onClosed
    this.shortName = init.keys.shortName
    this.roomId = init.keys.roomId
    // never log anything derived from the key beyond the short name
    this.log = components.logger.forComponent(`freeflow:room:${init.keys.shortName}`)
    this.roster = new Members({ ...config, dispatch: this.dispatch })
    this.history = new ChatHistory(config)
    this.topic = new RoomTopic(init.keys, this.log, this.admit)
    this.discovery = new Discovery({
      keys: init.keys,
      components,
      log: this.log,
      maxLookupInterval: config.maxLookupInterval,
      found: (peerId, addrs) => { this.connect(peerId, addrs) }
    })
  }

  /** True once `leave()` started. */
  get left (): boolean {
    return this.leaving != null
  }

  private get pubsub (): NonNullable<RoomServiceComponents['pubsub']> {
    const pubsub = this.components.pubsub
    if (pubsub == null) { throw new MissingPubsubError('the room service needs gossipsub registered as the `pubsub` service') }
    return pubsub
  }

  /**
   * Take part: subscribe with the room's validator and scoring, start the heartbeat, the sweep and discovery, and
   * announce this node (JOIN). If the signal aborts first, the room is left again and this rejects with its reason.
   */
  async start (options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    const { pubsub } = this
    const { topic } = this.topic
    this.joinedAt = Date.now()
    // a peer that sends messages that do not open is pushed out of the mesh, then ignored
    scoreTopic(pubsub, topic)
    pubsub.topicValidators.set(topic, this.topic.validate)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    pubsub.subscribe(topic)
    void this.every(this.config.heartbeatInterval, async () => { await this.publishPresence(Presence.Kind.HEARTBEAT) })
    void this.every(SWEEP_INTERVAL, () => { this.roster.sweep() })
    this.discovery.start()
    try {
      await raceSignal(this.publishPresence(Presence.Kind.JOIN), options.signal)
    } catch (err) {
      // the signal is spent: leave without a goodbye
      await this.leave(options).catch(() => {})
      throw err
    }
  }

  members (): MemberInfo[] {
    return this.roster.present()
  }

  isMember (peerId: PeerId): boolean {
    return this.roster.isMember(peerId)
  }

  get recording (): RecordingState | undefined {
    return this.recordingSince == null ? undefined : { since: this.recordingSince }
  }

  async setRecording (active: boolean, options: AbortOptions = {}): Promise<void> {
    if (this.left) { throw new RoomLeftError('this room was left') }
    if (active === (this.recordingSince != null)) { return }
    options.signal?.throwIfAborted()
    this.recordingSince = active ? Date.now() : undefined
    // at once, not at the next heartbeat: the others must see a recording start as it starts
    await raceSignal(this.publishPresence(Presence.Kind.HEARTBEAT, true), options.signal)
  }

  async send (text: string, options: AbortOptions = {}): Promise<ChatMessage> {
    if (this.left) { throw new RoomLeftError('this room was left') }
    if (text.length === 0) { throw new InvalidMessageError('empty message') }
    if (text.length > this.config.maxTextLength) { throw new InvalidMessageError(`message longer than ${this.config.maxTextLength} characters`) }
    options.signal?.throwIfAborted()
    if (!this.sending.take(this.components.peerId)) {
      throw new ChatRateError(`sending too fast: at most ${CHAT_BURST} messages at once, then ${CHAT_RATE} a second; wait a moment`)
    }
    const id = crypto.getRandomValues(new Uint8Array(CHAT_ID_BYTES))
    const ts = Date.now()
    const sealed = await sealEnvelope(this.keys, this.components.peerId, this.components.privateKey, { ts: BigInt(ts), chat: { id, name: this.name, text } })
    const msg: ChatMessage = { id: toHex(id), from: this.components.peerId, name: this.name, text, ts, history: false }
    this.history.remember(msg.id, ts, sealed)
    await raceSignal(this.pubsub.publish(this.keys.topic, sealed), options.signal)
    return msg
  }

  async leave (options: AbortOptions = {}): Promise<void> {
    if (this.leaving != null) {
      await this.leaving
      return
    }
    this.roster.close()
    this.onClosed()
    const goodbye = raceSignal(this.publishPresence(Presence.Kind.LEAVE), options.signal)
    this.leaving = goodbye.catch(() => {}).then(async () => { await this.close() })
    await this.leaving
    // the room is left either way; the caller learns that its signal cut the goodbye short
    await goodbye
  }

  /** The Welcome for a member that proved itself: what this node knows of the room. */
  welcomeFor (remote: PeerId): Welcome {
    return { name: this.name, members: this.roster.listFor(remote), history: this.history.forWelcome(), ...this.ownStatus() }
  }

  /** A handshake with `remote` completed (either role): take in its Welcome. */
  async welcomed (remote: PeerId, welcome: Welcome): Promise<void> {
    if (this.left) { return }
    this.roster.verified(remote, welcome.name, welcome)
    for (const member of welcome.members) {
      try {
        const peerId = peerIdFromMultihash(Digest.decode(member.peerId))
        if (peerId.equals(this.components.peerId) || this.roster.isVerified(peerId)) { continue }
        this.connect(peerId, decodeAddrs(member.addrs))
      } catch (err: any) {
        this.log('ignored a malformed member from %p - %e', remote, err)
      }
    }
    const fresh = await this.history.open(this.keys, welcome.history, this.joinedAt, this.config, err => {
      this.log('ignored a history entry from %p - %e', remote, err)
    })
    for (const { msg, sealed } of fresh) {
      if (this.history.remember(msg.id, msg.ts, sealed)) { this.dispatch('chat', this.byAuthorsName(msg)) }
    }
  }

  /** What the handshake needs to know of this node and its limits, for a stream to `remotePeer`. */
  handshakeInit (remotePeer: PeerId): HandshakeInit {
    return { localPeer: this.components.peerId, remotePeer, handshakeTimeout: this.config.handshakeTimeout, maxMessageSize: this.config.maxMessageSize, historySize: this.config.historySize }
  }

  private async close (): Promise<void> {
    this.shutdown.abort()
    const pubsub = this.components.pubsub
    if (pubsub != null) {
      pubsub.removeEventListener('message', this.onMessage)
      pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
      pubsub.topicValidators.delete(this.keys.topic)
      try {
        pubsub.unsubscribe(this.keys.topic)
      } catch {
        // gossipsub already stopped: nothing to unsubscribe from
      }
    }
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.discovery.stop()
  }

  /** Run `fn` every `ms` until the room is left. */
  private async every (ms: number, fn: () => void | Promise<void>): Promise<void> {
    const signal = this.shutdown.signal
    while (true) {
      await sleep(ms, { signal })
      if (signal.aborted) { return }
      await fn()
    }
  }

  private readonly dispatch = <K extends keyof RoomEvents>(type: K, detail: RoomEvents[K]['detail']): void => {
    if (type !== 'chat') {
      const m = detail as MemberInfo & { reason?: string }
      this.log('%p %s as %s (%s%s%s)', m.peerId, type, m.name, m.role, m.recording == null ? '' : ', recording', m.reason == null ? '' : `, ${m.reason}`)
    }
    try {
      this.safeDispatchEvent(type, { detail } as any)
    } catch (err: any) {
      this.log.error('a %s listener threw - %e', type, err)
    }
  }

  // ---- presence ----

  private ownStatus (): { role: Role, recordingSince: bigint } {
    return { role: this.role === 'recorder' ? Role.RECORDER : Role.PARTICIPANT, recordingSince: BigInt(this.recordingSince ?? 0) }
  }

  private async publishPresence (kind: Presence.Kind, rethrow = false): Promise<void> {
    try {
      const addrs = kind === Presence.Kind.LEAVE ? [] : this.components.addressManager.getAddresses().slice(0, MAX_ADDRS).map(a => a.bytes as Uint8Array<ArrayBuffer>)
      const sealed = await sealEnvelope(this.keys, this.components.peerId, this.components.privateKey, {
        ts: BigInt(Date.now()),
        presence: { kind, name: this.name, addrs, ...this.ownStatus() }
      })
      await this.pubsub.publish(this.keys.topic, sealed)
    } catch (err: any) {
      this.log.trace('could not publish presence - %e', err)
      if (rethrow) { throw err }
    }
  }

  // ---- the topic ----

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    this.topic.open(msg)
      .then(opened => { if (opened != null) { this.onEnvelope(opened, msg.data) } })
      .catch(err => { this.log('dropped a message - %e', err) })
  }

  /**
   * The topic validator's word on an envelope that opened: taken when its author completed a handshake with this
   * node at some time. Anything else is ignored: not shown, not passed on to the mesh (so an honest member does not
   * spread a ghost's presence with its own good name), and a presence worth a handshake only as `vouched` says.
   */
  private readonly admit = ({ from, payload }: OpenedEnvelope, via: PeerId): boolean => {
    if (this.roster.get(from)?.proven === true || from.equals(this.components.peerId)) { return true }
    if (payload.presence != null && !this.left) { this.vouched(from, payload.ts, payload.presence, via) }
    return false
  }

  private onEnvelope ({ from, payload }: OpenedEnvelope, sealed: Uint8Array): void {
    if (this.left || from.equals(this.components.peerId)) { return }
    if (payload.presence != null) {
      const m = this.roster.presence(from, payload.ts, payload.presence)
      if (m != null && (!m.verified || this.components.connectionManager.getConnections(from).length === 0)) { this.connect(from, m.addrs) }
    } else if (payload.chat != null) {
      this.onChat(from, payload, sealed)
    }
  }

  /**
   * Chat from the topic: shown only if fresh (section 4.2: a replay outside the window or a message stamped far off
   * is stale), new (a replay inside the window is a duplicate) and within its author's rate; the rest are counted.
   */
  private onChat (from: PeerId, payload: Payload, sealed: Uint8Array): void {
    const chat = payload.chat
    if (chat == null) { return }
    // a stale message or a replay says nothing about its author now: neither may bring a member back
    if (!this.history.fresh(Number(payload.ts))) {
      this.drop('stale', from)
      return
    }
    const msg = chatMessage(from, payload, false, this.config)
    if (msg != null && this.history.has(msg.id)) {
      this.drop('duplicate', from)
      return
    }
    // only from a member that completed a handshake with this node: chat from another author comes again in its
    // Welcome if it ever does (a member with the key could otherwise post as any number of throwaway identities).
    // A member's name is its own word in its presence and Welcome: a chat message's name field names only an
    // author not heard of before, and renames nobody
    if (this.roster.heardOnTopic(from, (this.roster.get(from)?.name ?? '') === '' ? { name: chat.name } : {}) == null) { return }
    if (msg == null) { return }
    if (!this.received.take(from)) {
      this.drop('rate', from)
      return
    }
    if (this.history.remember(msg.id, msg.ts, sealed)) { this.dispatch('chat', this.byAuthorsName(msg)) }
  }

  private drop (reason: keyof ChatDropped, from: PeerId): void {
    this.chatDropped[reason]++
    this.log.trace('dropped %s chat from %p', reason, from)
  }

  /** A chat message under its author's own name (presence, Welcome); its own name field only for an author not named. */
  private byAuthorsName (msg: ChatMessage): ChatMessage {
    const known = this.roster.get(msg.from)?.name ?? ''
    return known !== '' ? { ...msg, name: known } : msg
  }

  /**
   * A peer subscribed to the topic. A subscription proves nothing (anyone who learned the topic name, from a relay
   * that routes it for instance, can subscribe): it is worth a handshake only with a peer that completed one with
   * this node before (a member back on a new connection) or that this node already had reason to reach (found by
   * discovery, listed in a Welcome, vouched for by a member; an earlier attempt may have failed before it could be
   * reached). Anyone else gets no dial and no Hello: it learns nothing from subscribing (docs/threat-model.md 3.4).
   */
  private readonly onSubscriptionChange = (evt: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    const { peerId, subscriptions } = evt.detail
    if (!subscriptions.some(s => s.topic === this.keys.topic && s.subscribe) || this.roster.isVerified(peerId)) { return }
    if (this.roster.get(peerId)?.proven === true || this.expected.has(peerId.toString())) {
      this.connect(peerId, [])
    }
  }

  // ---- connections ----

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const m = this.roster.disconnected(evt.detail)
    // a relayed connection expires by design: try to get back to a member that is still talking
    if (m != null) { void this.redial(m) }
  }

  private async redial (m: MemberState): Promise<void> {
    await sleep(REDIAL_DELAY, { signal: this.shutdown.signal })
    if (!this.left && m.present && this.components.connectionManager.getConnections(m.peerId).length === 0) {
      this.connect(m.peerId, m.addrs)
    }
  }

  /**
   * Presence from an author that never completed a handshake with this node shows nobody; it is worth a handshake
   * only when it came from a member that did (two members that joined at once through a third learn of each other
   * this way, not from its Welcomes: the third forwards what it took), and then at most MAX_UNPROVEN_DIALS at a
   * time and once per author per UNPROVEN_RETRY. A member with the key that signs presence with throwaway keys gets
   * a trickle of failed dials from the members it sends them to, who pass nothing on; a stranger gets none
   * (docs/threat-model.md 3.5).
   */
  private vouched (author: PeerId, ts: bigint, presence: Presence, via: PeerId): void {
    if (presence.kind === Presence.Kind.LEAVE || !this.roster.isMember(via) || Number(ts) < Date.now() - MAX_PRESENCE_AGE) { return }
    const key = author.toString()
    const now = Date.now()
    const tried = this.unproven.get(key)
    if ((tried != null && now - tried < UNPROVEN_RETRY) || this.unprovenDials >= MAX_UNPROVEN_DIALS || this.connecting.has(key)) { return }
    this.unproven.set(key, now)
    // bounded like the roster: the oldest attempt is forgotten first
    if (this.unproven.size > MAX_STATES) { this.unproven.delete(this.unproven.keys().next().value as string) }
    this.unprovenDials++
    this.connect(author, decodeAddrs(presence.addrs), () => { this.unprovenDials-- })
  }

  /**
   * Reach a (possible) member and run the handshake with it, unless that is done or under way. Every caller has a
   * reason (discovery, a Welcome, a vouched or proven member's presence): the peer is remembered as expected, so its
   * subscription to the topic later is worth another try (onSubscriptionChange).
   */
  private connect (peerId: PeerId, addrs: Multiaddr[], done?: () => void): void {
    const key = peerId.toString()
    this.expect(key)
    const skip = this.left || peerId.equals(this.components.peerId) || this.connecting.has(key) ||
      (this.roster.isVerified(peerId) && this.components.connectionManager.getConnections(peerId).length > 0)
    if (skip) {
      done?.()
      return
    }
    this.connecting.add(key)
    void this.dial(peerId, addrs).finally(() => {
      this.connecting.delete(key)
      done?.()
    })
  }

  /**
   * A connection for the handshake: one already open (a direct one first), else a plain circuit through a relay the
   * member named, else whatever libp2p dials. libp2p's own dial tries the `/p2p-circuit/webrtc` address first and
   * returns only once WebRTC is up; the direct service brings WebRTC anyway. libp2p merges a dial into one already
   * under way to the same peer, so nothing else may dial a member by PeerId first (overlay/dht-peers.ts).
   */
  private async open (peerId: PeerId, signal: AbortSignal): Promise<Connection> {
    const { connectionManager, peerStore } = this.components
    const open = connectionManager.getConnections(peerId).filter(c => c.status === 'open')
    const existing = open.find(c => c.limits == null) ?? open[0]
    if (existing != null) { return existing }
    const known = await peerStore.get(peerId).then(p => p.addresses.map(a => a.multiaddr), () => [])
    const circuits = addrsVia('p2p-circuit', peerId, known)
    if (circuits.length > 0) {
      try {
        return await connectionManager.openConnection(circuits, { signal })
      } catch (err: any) {
        if (signal.aborted) { throw err }
        this.log('no circuit to %p - %e', peerId, err)
      }
    }
    return connectionManager.openConnection(peerId, { signal })
  }

  /** Remember a peer this node had reason to reach; bounded like the roster, the oldest forgotten first. */
  private expect (key: string): void {
    this.expected.delete(key)
    this.expected.add(key)
    if (this.expected.size > MAX_STATES) { this.expected.delete(this.expected.values().next().value as string) }
  }

  private async dial (peerId: PeerId, addrs: Multiaddr[]): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(DIAL_TIMEOUT)])
    try {
      if (addrs.length > 0) { await this.components.peerStore.merge(peerId, { multiaddrs: addrs }) }
      const connection = await this.open(peerId, signal)
      const stream = await connection.newStream(ROOM_PROTOCOL, { signal, runOnLimitedConnection: true })
      const welcome = await initiateHandshake(stream, this, this.handshakeInit(connection.remotePeer), { signal })
      await this.welcomed(connection.remotePeer, welcome)
    } catch (err: any) {
      this.log('could not reach %p - %e', peerId, err)
    }
  }
}
