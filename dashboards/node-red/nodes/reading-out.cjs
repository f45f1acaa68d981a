'use strict'
/**
 * Reading out: sends a reading to the gateway as a registered sensor would, over MQTT with the
 * config node's device identity, QoS 1: `sensors/{kind}/{sensorId}/data` with
 * `{"ts", "seq"?, "values"}`. The gateway validates and grades it exactly as it does its own
 * devices' readings; a reading the identity may not send for is dropped by the gateway and counted
 * there (`shaobing_mqtt_denied_total`), never stored.
 *
 * msg.payload: `{ values: { quantity: number }, ts?, seq? }`, or a number (then the node's
 * `quantity` names it). msg.sensorId and msg.kind override the node's settings. `ts` defaults to
 * now; it may be epoch milliseconds or ISO-8601.
 */
module.exports = function (RED) {
  function ReadingOutNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    const gateway = RED.nodes.getNode(config.gateway)
    if (!gateway) {
      node.status({ fill: 'red', shape: 'ring', text: 'no gateway configured' })
      return
    }
    const client = gateway.mqtt(node)
    node.onMqttState = (state, err) => {
      if (state === 'connected') node.status({ fill: 'green', shape: 'dot', text: 'connected' })
      else if (state === 'error')
        node.status({ fill: 'red', shape: 'ring', text: err && err.message ? err.message : 'error' })
      else node.status({ fill: 'yellow', shape: 'ring', text: state })
    }
    if (client.connected) node.onMqttState('connected')

    node.on('input', (msg, send, done) => {
      const sensorId = String(msg.sensorId || config.sensorId || '')
      const kind = String(msg.kind || config.kind || '')
      let reading = msg.payload
      if (typeof reading === 'number') {
        if (!config.quantity) return done(new Error('msg.payload is a number but the node names no quantity'))
        reading = { values: { [config.quantity]: reading } }
      }
      const problem = invalid(sensorId, kind, reading)
      if (problem) return done(new Error(problem))
      const body = { ts: reading.ts ?? Date.now(), values: reading.values }
      if (reading.seq !== undefined) body.seq = reading.seq
      const topic = `sensors/${kind}/${sensorId}/data`
      client.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => {
        if (err) {
          node.status({ fill: 'red', shape: 'ring', text: err.message })
          return done(err)
        }
        node.status({
          fill: 'green',
          shape: 'dot',
          text: `${sensorId} ${new Date().toISOString().slice(11, 19)}`,
        })
        msg.topic = topic
        send(msg)
        done()
      })
    })
    node.on('close', (done) => {
      gateway.releaseMqtt(node)
      done()
    })
  }

  /** Why a reading cannot be sent, or undefined. */
  function invalid(sensorId, kind, reading) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(sensorId))
      return `sensor id ${JSON.stringify(sensorId)} is not a registry id`
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(kind)) return `kind ${JSON.stringify(kind)} is not a registry id`
    if (
      typeof reading !== 'object' ||
      reading === null ||
      typeof reading.values !== 'object' ||
      reading.values === null
    )
      return 'msg.payload must be {values: {quantity: number}} or a number'
    const entries = Object.entries(reading.values)
    if (entries.length === 0) return 'msg.payload.values has no quantity'
    for (const [q, v] of entries)
      if (typeof v !== 'number' || !Number.isFinite(v))
        return `value of ${q} is not a finite number: ${JSON.stringify(v)}`
    if (reading.ts !== undefined && typeof reading.ts !== 'number' && Number.isNaN(Date.parse(reading.ts)))
      return `ts ${JSON.stringify(reading.ts)} is neither epoch milliseconds nor ISO-8601`
    return undefined
  }

  RED.nodes.registerType('shaobing-reading-out', ReadingOutNode)
}
