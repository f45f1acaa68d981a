/**
 * MQTT topic contract (DESIGN.md "Contracts"). The only place topic strings are built or parsed;
 * sensors-sim and tests import these builders so a topic change is one edit.
 */

/** Sensor readings: `sensors/{kind}/{sensorId}/data`. */
export const sensorDataTopic = (kind: string, sensorId: string): string => `sensors/${kind}/${sensorId}/data`
/** Sensor status / last will: `sensors/{kind}/{sensorId}/status`. */
export const sensorStatusTopic = (kind: string, sensorId: string): string =>
  `sensors/${kind}/${sensorId}/status`
/** Commands to a loudspeaker terminal (play/stop). */
export const terminalCmdTopic = (terminalId: string): string => `terminals/${terminalId}/cmd`
/** Receipts from a loudspeaker terminal (accepted/playing/played/failed). */
export const terminalReceiptTopic = (terminalId: string): string => `terminals/${terminalId}/receipt`
/** Terminal online/offline status (LWT). */
export const terminalStatusTopic = (terminalId: string): string => `terminals/${terminalId}/status`
/** Current state of a warning for integrators, retained: `warnings/{regionCode}/{hazard}`. */
export const warningTopic = (regionCode: string, hazard: string): string => `warnings/${regionCode}/${hazard}`

/** Equipment fault state of one sensor, retained: `faults/{stationId}/{sensorId}`. */
export const faultTopic = (stationId: string, sensorId: string): string => `faults/${stationId}/${sensorId}`

/** Subscription filters the gateway itself uses. */
export const SENSOR_FILTER = 'sensors/#'
export const TERMINAL_RECEIPT_FILTER = 'terminals/+/receipt'

/** Topic ids are MQTT topic levels: no separators, no wildcards, not empty. */
const ID = /^[A-Za-z0-9_.:-]{1,64}$/

export type SensorTopic = { kind: string; sensorId: string; channel: 'data' | 'status' }

/** Parses `sensors/{kind}/{sensorId}/{data|status}`; undefined for anything else. */
export function parseSensorTopic(topic: string): SensorTopic | undefined {
  const parts = topic.split('/')
  if (parts.length !== 4 || parts[0] !== 'sensors') return undefined
  const [, kind, sensorId, channel] = parts as [string, string, string, string]
  if (!ID.test(kind) || !ID.test(sensorId)) return undefined
  if (channel !== 'data' && channel !== 'status') return undefined
  return { kind, sensorId, channel }
}

export type TerminalTopic = { terminalId: string; channel: 'cmd' | 'receipt' | 'status' }

/** Parses `terminals/{terminalId}/{cmd|receipt|status}`; undefined for anything else. */
export function parseTerminalTopic(topic: string): TerminalTopic | undefined {
  const parts = topic.split('/')
  if (parts.length !== 3 || parts[0] !== 'terminals') return undefined
  const [, terminalId, channel] = parts as [string, string, string]
  if (!ID.test(terminalId)) return undefined
  if (channel !== 'cmd' && channel !== 'receipt' && channel !== 'status') return undefined
  return { terminalId, channel }
}
