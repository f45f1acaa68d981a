/**
 * Village loudspeaker terminals over MQTT: one QoS 1 command per terminal on
 * `terminals/{id}/cmd`; terminals answer on `terminals/{id}/receipt`.
 */
import type { Logger } from 'pino'
import type { TerminalCommand } from '../../contracts/payloads.js'
import { terminalCmdTopic } from '../../contracts/topics.js'

export interface LoudspeakerDeps {
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
  /** Called with the commands the broker has taken for routing, once per send() call. */
  readonly onSent: (sent: readonly { terminalId: string; command: TerminalCommand }[]) => void
  readonly log: Logger
}

export class LoudspeakerChannel {
  constructor(private readonly deps: LoudspeakerDeps) {}

  /**
   * Sends one command per terminal. Those the broker took are reported together (one store
   * transaction); a terminal that failed is logged and stays queued.
   */
  async send(commands: readonly { terminalId: string; command: TerminalCommand }[]): Promise<void> {
    const results = await Promise.all(
      commands.map(async (c) => {
        try {
          await this.deps.publish(terminalCmdTopic(c.terminalId), JSON.stringify(c.command), { qos: 1 })
          return c
        } catch (e) {
          const { terminalId, command } = c
          this.deps.log.warn(
            { terminalId, warningId: command.warningId, err: e },
            'loudspeaker command not sent',
          )
          return undefined
        }
      }),
    )
    this.deps.onSent(results.filter((c) => c !== undefined))
  }
}
