/**
 * Village loudspeaker terminals over MQTT: one QoS 1 command per terminal on
 * `terminals/{id}/cmd`; terminals answer on `terminals/{id}/receipt`.
 */
import type { Logger } from 'pino'
import type { TerminalCommand } from '../../contracts/payloads.js'
import { terminalCmdTopic } from '../../contracts/topics.js'

export interface LoudspeakerDeps {
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
  /** Called once the broker has taken the command for routing. */
  readonly onSent: (terminalId: string, command: TerminalCommand) => void
  readonly log: Logger
}

export class LoudspeakerChannel {
  constructor(private readonly deps: LoudspeakerDeps) {}

  /** Sends one command per terminal; a terminal that fails is logged and left queued for a retry. */
  async send(commands: readonly { terminalId: string; command: TerminalCommand }[]): Promise<void> {
    await Promise.all(
      commands.map(async ({ terminalId, command }) => {
        try {
          await this.deps.publish(terminalCmdTopic(terminalId), JSON.stringify(command), { qos: 1 })
          this.deps.onSent(terminalId, command)
        } catch (e) {
          this.deps.log.warn(
            { terminalId, warningId: command.warningId, err: e },
            'loudspeaker command not sent',
          )
        }
      }),
    )
  }
}
