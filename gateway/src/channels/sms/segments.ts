/**
 * SMS text in UCS-2 (data_coding 8), the encoding Chinese text needs: 70 characters fit one
 * message; a longer text is split into parts of 67, each carrying a concatenation UDH
 * (IEI 00: 8-bit reference, total, sequence — 3GPP TS 23.040 §9.2.3.24.1) so the handset
 * reassembles it. Surrogate pairs are never split.
 */
export const SINGLE_UCS2 = 70
export const PART_UCS2 = 67

export interface Segment {
  /** The concatenation UDH (6 octets), absent for a single message. */
  readonly udh?: Buffer
  readonly text: string
}

/** Splits `text` into SMS segments; `ref` is the concatenation reference (0–255). */
export function segment(text: string, ref: number): Segment[] {
  const units = [...text] // code points: a surrogate pair stays together
  const length = (s: readonly string[]) => s.reduce((n, c) => n + c.length, 0) // UTF-16 units
  if (length(units) <= SINGLE_UCS2) return [{ text }]
  const parts: string[] = []
  let current: string[] = []
  for (const c of units) {
    if (length(current) + c.length > PART_UCS2) {
      parts.push(current.join(''))
      current = []
    }
    current.push(c)
  }
  if (current.length > 0) parts.push(current.join(''))
  if (parts.length > 255) throw new Error('message too long for one concatenated SMS (255 parts)')
  return parts.map((p, i) => ({
    udh: Buffer.from([0x05, 0x00, 0x03, ref & 0xff, parts.length, i + 1]),
    text: p,
  }))
}
