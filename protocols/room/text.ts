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
