/** A persistent identity in IndexedDB: a reload is the same participant. */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

const DB = 'freeflow'
const STORE = 'identity'
const KEY = 'libp2p-private-key'

async function db (): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => { req.result.createObjectStore(STORE) }
    req.onsuccess = () => { resolve(req.result) }
    req.onerror = () => { reject(req.error ?? new Error('IndexedDB is not available')) }
  })
}

async function tx<T> (mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await db()
  return await new Promise((resolve, reject) => {
    const req = fn(d.transaction(STORE, mode).objectStore(STORE))
    req.onsuccess = () => { resolve(req.result) }
    req.onerror = () => { reject(req.error ?? new Error('IndexedDB request failed')) }
  }).finally(() => { d.close() }) as T
}

export async function loadIdentity (): Promise<PrivateKey> {
  try {
    const stored = await tx<Uint8Array | undefined>('readonly', s => s.get(KEY))
    if (stored != null) { return privateKeyFromProtobuf(new Uint8Array(stored)) }
  } catch {
    // no IndexedDB, or an unreadable key: a fresh identity
  }
  const key = await generateKeyPair('Ed25519')
  try {
    await tx('readwrite', s => s.put(privateKeyToProtobuf(key), KEY))
  } catch {
    // private browsing without IndexedDB: a fresh identity per visit
  }
  return key
}
