'use strict'
/**
 * Warning action: acts on the gateway's warnings through its HTTP API, with the config node's
 * API token, whose roles decide what it may do (operator: acknowledge, lift, issue, update, reset;
 * approver: approve, reject). Thresholds and warning state stay in the gateway: this node asks,
 * the gateway decides, audits it (`api_call` with the token's id) and answers.
 *
 * The warning comes from msg.warningId, or msg.payload.warningId (so a warning-in node's output
 * wires straight in), or the node's setting; approve and reject take the version the same way.
 * issue takes `{hazard, level, regions, text?}` from msg.payload, or the node's settings; update
 * `{level, text?}`. The gateway's answer is msg.payload; a refusal is an error for a Catch node,
 * the message carrying the gateway's `statusCode` (as Node-RED's http request node does) and
 * `reason`.
 */
const { call } = require('../lib/api.cjs')

const ACTIONS = ['ack', 'lift', 'approve', 'reject', 'issue', 'update', 'reset']

module.exports = function (RED) {
  function WarningActionNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    const gateway = RED.nodes.getNode(config.gateway)
    if (!gateway) node.status({ fill: 'red', shape: 'ring', text: 'no gateway configured' })

    node.on('input', async (msg, send, done) => {
      if (!gateway) return done(new Error('no gateway configured'))
      const action = String(msg.action || config.action || '')
      const p = typeof msg.payload === 'object' && msg.payload !== null ? msg.payload : {}
      try {
        if (!ACTIONS.includes(action))
          throw new Error(`unknown action ${JSON.stringify(action)}: one of ${ACTIONS.join(', ')}`)
        const { method, path, body } = request(action, msg, p, config)
        node.status({ fill: 'blue', shape: 'dot', text: `${action}…` })
        msg.payload = await call(gateway, method, path, body)
        node.status({
          fill: 'green',
          shape: 'dot',
          text: `${action} ${new Date().toISOString().slice(11, 19)}`,
        })
        send(msg)
        done()
      } catch (err) {
        // (a Catch node sets msg.error itself, from the error: the gateway's status and reason go here)
        msg.statusCode = err.status ?? null
        msg.reason = err.reason ?? null
        node.status({
          fill: 'red',
          shape: 'ring',
          text: `${action}: ${err.reason || err.message}`.slice(0, 60),
        })
        done(err)
      }
    })
  }

  /** The call an action makes. */
  function request(action, msg, p, config) {
    const id = () => {
      const w = msg.warningId || p.warningId || config.warningId
      if (!w)
        throw new Error(
          `${action} needs a warning: msg.warningId, msg.payload.warningId or the node's setting`,
        )
      return encodeURIComponent(String(w))
    }
    const version = () => {
      const v = Number(msg.version ?? p.version ?? config.version)
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`${action} needs a version: msg.version or msg.payload.version`)
      return v
    }
    switch (action) {
      case 'ack':
        return { method: 'POST', path: `/api/warnings/${id()}/ack`, body: {} }
      case 'lift':
        return { method: 'POST', path: `/api/warnings/${id()}/lift`, body: {} }
      case 'reset':
        return { method: 'POST', path: `/api/warnings/${id()}/reset`, body: {} }
      case 'approve':
      case 'reject':
        return { method: 'POST', path: `/api/warnings/${id()}/versions/${version()}/${action}`, body: {} }
      case 'update': {
        const body = { level: p.level || config.level }
        const text = p.text || config.text
        if (text) body.text = text
        return { method: 'POST', path: `/api/warnings/${id()}/update`, body }
      }
      case 'issue': {
        const regions =
          p.regions ??
          String(config.regions || '')
            .split(/[\s,]+/)
            .filter(Boolean)
        const body = { hazard: p.hazard || config.hazard, level: p.level || config.level, regions }
        const text = p.text || config.text
        if (text) body.text = text
        return { method: 'POST', path: '/api/warnings', body }
      }
    }
    throw new Error(`unknown action ${action}`)
  }

  RED.nodes.registerType('shaobing-warning-action', WarningActionNode)
}
