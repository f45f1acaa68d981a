/**
 * An exact-topic index over aedes's in-memory retained messages.
 *
 * aedes-persistence answers every SUBSCRIBE by testing each retained message against each filter
 * (`retainedMessagesByPattern`: a scan of them all). Every loudspeaker keeps a retained status
 * (`terminals/{id}/status`) and subscribes to its own command topic, so when 10,000 terminals
 * reconnect after a power cut each SUBSCRIBE scans about 10,000 retained messages: 10^8 topic
 * tests in a burst, which stalled the gateway's event loop for seconds at a time (bench
 * dissemination --terminals 10000). A filter without wildcards matches one topic only, so it is
 * answered from a Map; filters with `+` or `#` still go to the scan, which gives the same messages.
 */
import type { Aedes } from 'aedes'
import { Readable } from 'node:stream'

interface RetainedPacket {
  readonly topic: string
  readonly payload: Buffer | string
}

interface RetainedStore {
  storeRetained(packet: RetainedPacket, cb?: (err: Error | null) => void): unknown
  createRetainedStreamCombi(patterns: string[]): Readable
}

const exact = (filter: string): boolean => !filter.includes('+') && !filter.includes('#')

/** Puts the index in front of the broker's persistence (before any message is retained). */
export function indexRetained(aedes: Aedes): void {
  const p = (aedes as unknown as { persistence: RetainedStore }).persistence
  const byTopic = new Map<string, RetainedPacket>()
  const store = p.storeRetained.bind(p)
  const combi = p.createRetainedStreamCombi.bind(p)
  p.storeRetained = (packet, cb) => {
    // As the memory persistence does: an empty payload clears [MQTT-3.3.1-10]; a copy is kept.
    if (packet.payload.length === 0) byTopic.delete(packet.topic)
    else byTopic.set(packet.topic, { ...packet })
    return store(packet, cb)
  }
  p.createRetainedStreamCombi = (patterns) =>
    patterns.every(exact) ? Readable.from(patterns.flatMap((t) => byTopic.get(t) ?? [])) : combi(patterns)
}
