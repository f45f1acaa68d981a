/**
 * A bare SL 651 telemetry station for tests: a real TCP connection that sends frames built with the
 * codec and reads the gateway's replies as they arrive, in order.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { encodeReport, FN, type ReportToEncode } from '../../gateway/src/contracts/sl651/body.js'
import {
  encodeFrame,
  ETX,
  FrameReader,
  type Frame,
  type FrameEncoding,
} from '../../gateway/src/contracts/sl651/frame.js'
import { DEMO_REGISTRY } from './gateway.js'

/** Beijing time, the stations' clocks. */
export const BEIJING = 480

/** The river station the SL 651 tests report for, and its RTU. */
export const RTU = {
  station: 'WL-QY-SL',
  address: '0061234567',
  password: '1234',
  stage: 'wl-qy-sl',
  rain: 'rg-qy-sl',
  region: '511823100201',
} as const

/** The demo county with one SL 651 river station (stage, rain, supply voltage) added, written to `dir`. */
export function sl651Registry(dir: string, extra: readonly Record<string, unknown>[] = []): string {
  const doc = parse(readFileSync(DEMO_REGISTRY, 'utf8')) as { stations: Record<string, unknown>[] }
  doc.stations.push(
    {
      id: RTU.station,
      name: '青衣江柳湾水文站',
      region: RTU.region,
      params: {
        approach_offset_m: -0.5,
        warning_level: 32.5,
        guaranteed_level: 34.0,
        historical_max_level: 35.2,
      },
      sensors: [
        { id: RTU.stage, kind: 'water_level' },
        { id: RTU.rain, kind: 'rain' },
      ],
      sl651: {
        address: RTU.address,
        password: RTU.password,
        elements: [
          { element: 'Z', sensor: RTU.stage, quantity: 'stage_m' },
          { element: 'DRZ1', sensor: RTU.stage, quantity: 'stage_m', offset: 28.5 },
          { element: 'PJ', sensor: RTU.rain, quantity: 'rain_mm' },
          { element: 'DRP', sensor: RTU.rain, quantity: 'rain_mm' },
          { element: 'VT', sensor: RTU.stage, quantity: 'supply_v' },
        ],
      },
    },
    ...extra,
  )
  const file = join(dir, 'registry.yaml')
  writeFileSync(file, stringify(doc))
  return file
}

/** Who sends a frame and how it ends; the river station's RTU, a timed report ending ETX by default. */
export interface UplinkOptions {
  readonly encoding?: FrameEncoding
  readonly fn?: number
  readonly address?: string
  readonly password?: string
  readonly center?: number
  readonly end?: number
  /** An M3 packet: its number and the total. */
  readonly packet?: { readonly total: number; readonly seq: number }
}

/** An uplink frame around `body`. */
export function uplinkFrame(o: UplinkOptions, body: Uint8Array): Buffer {
  return encodeFrame({
    encoding: o.encoding ?? 'hex',
    direction: 'up',
    center: o.center ?? 1,
    address: o.address ?? RTU.address,
    password: o.password ?? RTU.password,
    fn: o.fn ?? FN.timed,
    body,
    end: o.end ?? ETX,
    ...(o.packet ? { packet: o.packet } : {}),
  })
}

/** A station's report frame. */
export function reportFrame(o: UplinkOptions, report: ReportToEncode): Buffer {
  return uplinkFrame(o, encodeReport(o.encoding ?? 'hex', report, BEIJING))
}

/** A timed report of the river station: stage and supply voltage (and rain if given) at `ts`. */
export function timedReport(
  serial: number,
  ts: number,
  stage: number,
  sentAt = Date.now(),
  rain?: number,
): ReportToEncode {
  return {
    serial,
    sentAt,
    stations: [
      {
        address: RTU.address,
        category: 'H',
        groups: [
          {
            observedAt: ts,
            elements: [
              { id: 'Z', value: stage },
              ...(rain !== undefined ? [{ id: 'PJ', value: rain }] : []),
              { id: 'VT', value: 12.6 },
            ],
          },
        ],
      },
    ],
  }
}

/** A TCP connection to the SL 651 listener, with the frames the gateway sent back. */
export interface RtuLink {
  send(bytes: Buffer): void
  /** The next reply frame (waits for it). */
  reply(): Promise<Frame>
  /** Replies received and not yet taken. */
  readonly waiting: number
  close(): Promise<void>
  readonly closed: Promise<void>
}

export async function rtuLink(url: string): Promise<RtuLink> {
  const { hostname, port } = new URL(url)
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = tcpConnect({ host: hostname, port: Number(port) }, () => resolve(s))
    s.once('error', reject)
  })
  socket.on('error', () => {})
  const reader = new FrameReader()
  const frames: Frame[] = []
  const waiters: ((f: Frame) => void)[] = []
  socket.on('data', (chunk) => {
    reader.push(chunk)
    for (let r = reader.read(); r; r = reader.read()) {
      if (!('frame' in r)) throw new Error(`the gateway sent a bad frame: ${r.problem.detail}`)
      const w = waiters.shift()
      if (w) w(r.frame)
      else frames.push(r.frame)
    }
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return {
    send: (bytes) => socket.write(bytes),
    reply: () => {
      const f = frames.shift()
      return f ? Promise.resolve(f) : new Promise<Frame>((resolve) => waiters.push(resolve))
    },
    get waiting() {
      return frames.length
    },
    close: async () => {
      socket.end()
      await closed
    },
    closed,
  }
}
