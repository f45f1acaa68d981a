/** The parts of the `smpp` package (SMPP 3.4, no bundled types) the gateway and tests use. */
declare module 'smpp' {
  import { EventEmitter } from 'node:events'
  import { Server as NetServer } from 'node:net'

  export interface PDU {
    readonly command: string
    readonly command_status: number
    readonly sequence_number: number
    readonly [field: string]: unknown
    response(fields?: Record<string, unknown>): PDU
    isResponse(): boolean
  }

  type Fields = Record<string, unknown>
  type Callback = (pdu: PDU) => void

  export class Session extends EventEmitter {
    send(pdu: PDU, responseCallback?: Callback): boolean
    close(callback?: () => void): void
    destroy(callback?: () => void): void
    bind_transceiver(fields: Fields, callback?: Callback): boolean
    submit_sm(fields: Fields, callback?: Callback): boolean
    deliver_sm(fields: Fields, callback?: Callback): boolean
    enquire_link(fields?: Fields, callback?: Callback): boolean
    unbind(fields?: Fields, callback?: Callback): boolean
    readonly server?: Server
  }

  export class Server extends NetServer {
    readonly sessions: Session[]
  }

  export function connect(
    options: { url: string; auto_enquire_link_period?: number },
    listener?: () => void,
  ): Session
  export function createServer(options: Fields, listener: (session: Session) => void): Server

  export const ESM_CLASS: Record<string, number>
  export const ENCODING: Record<string, number>
  export const errors: Record<string, number>
}
