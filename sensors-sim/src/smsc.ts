/**
 * A simulated SMS centre: a real SMPP 3.4 server (the `smpp` package) that binds transceivers,
 * accepts submit_sm (UCS-2 and concatenated parts), answers with message ids, sends delivery
 * receipts (deliver_sm) after a delay or at once (even before the submit_sm_resp, as SMPP 3.4
 * allows), reassembles what each phone received, can go down and come
 * back on the same port, and can send mobile-originated replies (for 叫应).
 */
import type { AddressInfo } from 'node:net'
import * as smpp from 'smpp'

export interface SmscOptions {
  readonly host?: string
  readonly port?: number
  readonly systemId?: string
  readonly password?: string
  /** Delay before a delivery receipt; null sends none. */
  readonly receiptDelayMs?: number | null
  /** Hears each part as it is accepted, before its submit_sm_resp is sent (fault injection). */
  readonly onSubmit?: (s: Submitted) => void
  /**
   * When each part's receipt goes: `delayed` (after `receiptDelayMs`, the default); `after-response`,
   * written right behind the part's submit_sm_resp, before the next part is even read; or
   * `before-response`, ahead of it (nothing in SMPP 3.4 orders the two).
   */
  readonly receiptTiming?: 'delayed' | 'after-response' | 'before-response'
}

export interface Submitted {
  readonly messageId: string
  readonly from: string
  readonly to: string
  readonly text: string
  /** Concatenation reference, total and sequence, when the part carried a UDH. */
  readonly part?: { ref: number; total: number; seq: number }
  readonly at: number
}

export interface Smsc {
  readonly port: number
  /** Every part accepted, in order. */
  readonly submitted: Submitted[]
  /** Whole messages per phone, reassembled from their parts. */
  received(to?: string): { to: string; from: string; text: string }[]
  /** Stops accepting connections and drops the bound sessions (an outage). */
  down(): Promise<void>
  /** Listens again on the same port. */
  up(): Promise<void>
  /** A reply from a phone to the gateway (mobile-originated deliver_sm). */
  reply(from: string, to: string, text: string): void
  /** A delivery receipt for any message id, e.g. one this centre never gave out. */
  receipt(messageId: string, stat?: string): void
  close(): Promise<void>
}

export async function startSmsc(opts: SmscOptions = {}): Promise<Smsc> {
  const host = opts.host ?? '127.0.0.1'
  const receiptDelay = opts.receiptDelayMs === undefined ? 50 : opts.receiptDelayMs
  const timing = opts.receiptTiming ?? 'delayed'
  const sendReceipt = (
    session: smpp.Session,
    messageId: string,
    from: string,
    to: string,
    stat = 'DELIVRD',
  ) => {
    const stamp = '2607150800'
    session.deliver_sm({
      source_addr: to,
      destination_addr: from,
      esm_class: 0x04,
      short_message: `id:${messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${stamp} done date:${stamp} stat:${stat} err:000 text:`,
      receipted_message_id: messageId,
      message_state: stat === 'DELIVRD' ? 2 : 5,
    })
  }
  const submitted: Submitted[] = []
  const sessions = new Set<smpp.Session>()
  let nextId = 1
  let server: smpp.Server | undefined
  let port = opts.port ?? 0

  const onSession = (session: smpp.Session) => {
    let bound = false
    session.on('error', () => session.destroy())
    session.on('close', () => sessions.delete(session))
    session.on('bind_transceiver', (pdu: smpp.PDU) => {
      const ok =
        (opts.systemId === undefined || pdu.system_id === opts.systemId) &&
        (opts.password === undefined || pdu.password === opts.password)
      session.send(pdu.response(ok ? {} : { command_status: smpp.errors.ESME_RBINDFAIL }))
      if (!ok) return session.close()
      bound = true
      sessions.add(session)
    })
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()))
    session.on('unbind', (pdu: smpp.PDU) => {
      session.send(pdu.response())
      session.close()
    })
    session.on('deliver_sm_resp', () => undefined)
    session.on('submit_sm', (pdu: smpp.PDU) => {
      if (!bound) return session.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }))
      const messageId = `M${String(nextId++).padStart(8, '0')}`
      const sm = pdu.short_message as { udh?: Buffer[]; message?: string } | string
      const text = typeof sm === 'string' ? sm : (sm.message ?? '')
      const udh = typeof sm === 'string' ? undefined : sm.udh?.find((u) => u[0] === 0x00)
      const part = udh ? { ref: udh[2]!, total: udh[3]!, seq: udh[4]! } : undefined
      const from = String(pdu.source_addr)
      const to = String(pdu.destination_addr)
      const accepted = { messageId, from, to, text, ...(part ? { part } : {}), at: Date.now() }
      submitted.push(accepted)
      opts.onSubmit?.(accepted)
      const wantsReceipt = receiptDelay !== null && Number(pdu.registered_delivery) & 1
      if (wantsReceipt && timing === 'before-response') sendReceipt(session, messageId, from, to)
      session.send(pdu.response({ message_id: messageId }))
      if (wantsReceipt && timing === 'after-response') sendReceipt(session, messageId, from, to)
      if (wantsReceipt && timing === 'delayed')
        setTimeout(() => {
          if (sessions.has(session)) sendReceipt(session, messageId, from, to)
        }, receiptDelay).unref()
    })
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = smpp.createServer({}, onSession)
      server.once('error', reject)
      server.listen(port, host, () => {
        port = (server!.address() as AddressInfo).port
        resolve()
      })
    })
  const stop = async () => {
    const s = server
    server = undefined
    for (const session of sessions) session.destroy()
    sessions.clear()
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }
  await listen()

  return {
    get port() {
      return port
    },
    submitted,
    received(to) {
      const whole: { to: string; from: string; text: string }[] = []
      const parts = new Map<string, Submitted[]>()
      for (const s of submitted) {
        if (to !== undefined && s.to !== to) continue
        if (!s.part) {
          whole.push({ to: s.to, from: s.from, text: s.text })
          continue
        }
        const key = `${s.from}|${s.to}|${s.part.ref}|${s.part.total}`
        const list = parts.get(key) ?? []
        list.push(s)
        parts.set(key, list)
        if (list.length === s.part.total) {
          whole.push({
            to: s.to,
            from: s.from,
            text: [...list]
              .sort((a, b) => a.part!.seq - b.part!.seq)
              .map((x) => x.text)
              .join(''),
          })
          parts.delete(key)
        }
      }
      return whole
    },
    down: stop,
    up: listen,
    reply(from, toAddr, text) {
      for (const session of sessions)
        session.deliver_sm({
          source_addr: from,
          destination_addr: toAddr,
          esm_class: 0,
          data_coding: 8,
          short_message: { message: text },
        })
    },
    receipt(messageId, stat = 'DELIVRD') {
      for (const session of sessions) sendReceipt(session, messageId, '12379', '00000000000', stat)
    },
    close: stop,
  }
}
