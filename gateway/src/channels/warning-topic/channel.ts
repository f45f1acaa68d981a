/**
 * The retained current state of each warning on `warnings/{regionCode}/{hazard}`, for integrators
 * subscribed to the broker. Carried for every released version, whatever the policy.
 */
import type { Logger } from 'pino'
import { warningTopic } from '../../contracts/topics.js'
import type { Channel, Released, Targets } from '../../dissemination/channel.js'
import type { AfterCommit } from '../../events/bus.js'
import { reportOf } from '../../warnings/model.js'

export class WarningTopicChannel implements Channel {
  readonly name = 'warning-topic'
  readonly policyChannel = undefined

  constructor(
    private readonly deps: {
      readonly publish: (
        topic: string,
        payload: string,
        opts: { qos: 0 | 1; retain?: boolean },
      ) => Promise<void>
      readonly log: Logger
    },
  ) {}

  deliver({ warning: w, version: v }: Released, _targets: Targets, afterCommit: AfterCommit): Promise<void> {
    return afterCommit(() =>
      this.deps
        .publish(
          warningTopic(w.region, w.hazard),
          JSON.stringify({ ...w, version: v.version, text: v.text, report: reportOf(v.action) }),
          { qos: 1, retain: true },
        )
        .catch((e: unknown) => this.deps.log.warn({ err: e }, 'warning state not published')),
    )
  }
}
