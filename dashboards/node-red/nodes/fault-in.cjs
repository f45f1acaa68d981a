'use strict'
/**
 * Fault in: equipment faults (设备故障) as the gateway raises and clears them (no data, out of
 * range, spike, flatline, offline, battery low, clock), filtered by station, fault kind and region.
 *
 * msg.topic: `faults/{stationId}/{sensorId}`; msg.payload: `{state: "raised" | "cleared",
 * stationId, sensorId, fault, detail, region, at, eventId}`.
 */
const { list, regionContains } = require('../lib/api.cjs')
const { listen } = require('../lib/listen.cjs')

module.exports = function (RED) {
  function FaultInNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    const stations = list(config.stations)
    const kinds = list(config.faults)
    const regions = list(config.regions)
    const states = config.states === 'raised' ? ['fault.raised'] : ['fault.raised', 'fault.cleared']
    listen(RED, node, config.gateway, states, (e) => {
      if (!states.includes(e.type)) return
      const d = e.data
      if (stations.length > 0 && !stations.includes(d.stationId)) return
      if (kinds.length > 0 && !kinds.includes(d.kind)) return
      if (regions.length > 0 && !regions.some((r) => regionContains(r, e.region))) return
      node.send({
        topic: `faults/${d.stationId}/${d.sensorId}`,
        payload: {
          state: e.type === 'fault.raised' ? 'raised' : 'cleared',
          stationId: d.stationId,
          sensorId: d.sensorId,
          fault: d.kind,
          detail: d.detail,
          region: e.region,
          at: e.at,
          eventId: e.id,
        },
      })
    })
  }

  RED.nodes.registerType('shaobing-fault-in', FaultInNode)
}
