'use strict'
/**
 * Delivery in: receipts and coverage. Each time a recipient's delivery of a warning moves on (a
 * loudspeaker's accepted / playing / played / failed receipt, an SMS delivery receipt), one
 * message, filtered by channel, warning and state; with the version's coverage so far when asked
 * (`GET /api/warnings/{id}/coverage`), read after the change, so it counts it.
 *
 * msg.topic: `deliveries/{warningId}/{channel}/{recipient}`; msg.payload: `{warningId, version,
 * channel, recipient, state, detail, region, hazard, at, eventId, coverage?}`.
 */
const { coverageOf, list } = require('../lib/api.cjs')
const { listen } = require('../lib/listen.cjs')

module.exports = function (RED) {
  function DeliveryInNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    const channels = list(config.channels)
    const states = list(config.states)
    const warnings = list(config.warnings)
    const withCoverage = config.coverage === true
    let chain = Promise.resolve()
    const gateway = listen(RED, node, config.gateway, ['delivery.changed'], (e) => {
      if (e.type !== 'delivery.changed') return
      const d = e.data
      if (channels.length > 0 && !channels.includes(d.channel)) return
      if (states.length > 0 && !states.includes(d.state)) return
      if (warnings.length > 0 && !warnings.includes(d.warningId)) return
      const msg = {
        topic: `deliveries/${d.warningId}/${d.channel}/${d.recipient}`,
        payload: {
          ...d,
          detail: d.detail ?? null,
          region: e.region,
          hazard: e.hazard,
          at: e.at,
          eventId: e.id,
        },
      }
      chain = chain.then(async () => {
        if (withCoverage) msg.payload.coverage = await coverageOf(gateway, node, d.warningId, d.version)
        node.send(msg)
      })
    })
  }

  RED.nodes.registerType('shaobing-delivery-in', DeliveryInNode)
}
