/**
 * What members write, made safe to show. Names and chat reach terminals (`freeflow join` prints them) and the app, so
 * a member could otherwise move the cursor, erase or rewrite lines (a forged "RECORDING" line, or one erased) and
 * retitle the window with escape sequences, or make a line read other than it is with bidirectional formatting
 * characters, or pass for someone else with invisible ones. Removed: C0 and C1 control characters (ESC, CSI, OSC's
 * introducers), DEL, bidirectional formatting (U+061C, U+200E-F, U+202A-E, U+2066-9) and zero-width characters
 * (U+200B-D, U+2060, U+FEFF). A name is one line with single spaces; a chat text keeps its line breaks.
 */

const INVISIBLE = /[\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g
// eslint-disable-next-line no-control-regex
const CONTROLS_AND_BREAKS = /[\u0000-\u001F\u007F-\u009F]/g
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_BREAKS = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/g

/** A member's name as it may be shown: one line, without control or invisible characters. */
export function safeName (name: string): string {
  return name.replace(INVISIBLE, '').replace(CONTROLS_AND_BREAKS, ' ').replace(/\s+/g, ' ').trim()
}

/** A chat text as it may be shown: its line breaks kept (`\r\n` and `\r` become `\n`), other controls removed. */
export function safeText (text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(INVISIBLE, '').replace(/\t/g, ' ').replace(CONTROLS_BUT_BREAKS, '')
}

/**
 * Characters of a PeerId's end shown beside a name that another present member also has: six base58 characters
 * tell apart the few people of a room at a glance and read aloud in one breath.
 */
export const PEER_ID_END_LENGTH = 6

/** A member as it is named: its PeerId (or its string) and its display name. */
export interface NamedMember {
  peerId: { toString(): string }
  name: string
}

/**
 * What two names are compared by to tell whether they are one: cleaned as `safeName` cleans them, in one Unicode form
 * (NFC, so "é" typed as one character or as "e" and an accent is one name) and in lower case ("sam" is "Sam").
 * Look-alikes from other scripts (Cyrillic "а" for Latin "a") stay different names.
 */
export function nameKey (name: string): string {
  return safeName(name).normalize('NFC').toLowerCase()
}

/** A name with the end of its member's PeerId: "Sam (…x7Yq2a)". */
export function withPeerIdEnd (member: NamedMember): string {
  return `${member.name} (…${member.peerId.toString().slice(-PEER_ID_END_LENGTH)})`
}

/**
 * How to name members among those `present` (the one who looks included): a member whose name no other present member
 * has (compared by `nameKey`), by that name; one whose name another present member also has, with the end of its
 * PeerId (`withPeerIdEnd`), so that two members with one name are told apart. The member named need not be present
 * (a line of chat history from someone who left): it is told apart from the present ones with its name.
 */
export function tellApart (present: Iterable<NamedMember>): (member: NamedMember) => string {
  // per name, up to two PeerIds that have it: enough to know whether someone other than a given member has it
  const holders = new Map<string, string[]>()
  for (const m of present) {
    const key = nameKey(m.name)
    const id = m.peerId.toString()
    const ids = holders.get(key) ?? []
    if (ids.length < 2 && !ids.includes(id)) { ids.push(id) }
    holders.set(key, ids)
  }
  return member => {
    const id = member.peerId.toString()
    const twin = (holders.get(nameKey(member.name)) ?? []).some(other => other !== id)
    return twin ? withPeerIdEnd(member) : member.name
  }
}
