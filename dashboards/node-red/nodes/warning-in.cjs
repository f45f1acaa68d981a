'use strict'
/**
 * Warning in: every version the gateway releases (issue 首报, update 续报, lift 终报), filtered by
 * hazard, level, region and action, with the version's text and targets and, unless turned off,
 * its loudspeaker coverage so far (`GET /api/warnings/{id}/coverage`). One message per version,
 * in the order released; a version released while Node-RED or its link was down comes when they
 * are back (the node's own event stream resumes from the last event it delivered).
 *
 * msg.topic: `warnings/{region}/{hazard}`; msg.payload: `{warningId, version, action, level,
 * prevLevel, hazard, region, text, targets, status, releasedBy, at, eventId, coverage?}`.
 */
const { coverageOf, list, regionContains } = require('../lib/api.cjs')
const { listen } = require('../lib/listen.cjs')

const LEVELS = ['blue', 'yellow', 'orange', 'red']

module.exports = function (RED) {
  function WarningInNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    const hazards = list(config.hazards)
    const regions = list(config.regions)
    const actions = list(config.actions)
    // A level threshold: versions at this level or above (a lift, level null, passes when lifts are wanted).
    const minLevel = LEVELS.indexOf(config.minLevel || 'blue')
    const withCoverage = config.coverage !== false
    let chain = Promise.resolve()

    const wanted = (e) => {
      const d = e.data
      if (hazards.length > 0 && !hazards.includes(e.hazard)) return false
      if (regions.length > 0 && !regions.some((r) => regionContains(r, e.region))) return false
      if (actions.length > 0 && !actions.includes(d.action)) return false
      if (d.action !== 'lift' && LEVELS.indexOf(d.level) < minLevel) return false
      return true
    }

    const gateway = listen(RED, node, config.gateway, ['warning.released'], (e) => {
      if (e.type !== 'warning.released' || !wanted(e)) return
      const d = e.data
      const msg = {
        topic: `warnings/${e.region}/${e.hazard}`,
        payload: {
          warningId: d.warningId,
          version: d.version,
          action: d.action,
          level: d.level,
          prevLevel: d.prevLevel,
          hazard: e.hazard,
          region: e.region,
          text: d.text,
          targets: d.targets,
          status: d.status,
          releasedBy: d.releasedBy,
          at: e.at,
          eventId: e.id,
        },
      }
      // In order: a message waits for the coverage of the one before it.
      chain = chain.then(async () => {
        if (withCoverage) msg.payload.coverage = await coverageOf(gateway, node, d.warningId, d.version)
        node.send(msg)
      })
    })
  }

  RED.nodes.registerType('shaobing-warning-in', WarningInNode)
}
