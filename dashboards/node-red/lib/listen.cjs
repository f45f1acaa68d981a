'use strict'
/**
 * What the nodes that listen to the gateway's events share: the link's state as the node's status
 * in the editor, a failed link as an error a Catch node can handle (once per failure, not once per
 * retry), and the events handed to the node's own `onEvent`.
 */

/**
 * Attaches `node` to an event stream of its own from its gateway, of `types`. `onEvent(event)`
 * gets each one (`{id, at, type, region, hazard, data}`); the node filters further. Returns false when there is no gateway.
 */
function listen(RED, node, gatewayId, types, onEvent) {
  const gateway = RED.nodes.getNode(gatewayId)
  if (!gateway) {
    node.status({ fill: 'red', shape: 'ring', text: 'no gateway configured' })
    return undefined
  }
  let failing = false
  const stream = gateway.events(node, types)
  stream.subscribe({
    onEvent,
    onState(s) {
      if (s.state === 'connected') {
        failing = false
        node.status({ fill: 'green', shape: 'dot', text: 'connected' })
      } else if (s.state === 'connecting') node.status({ fill: 'yellow', shape: 'ring', text: 'connecting' })
      else if (s.state === 'disconnected') {
        const why = s.error && s.error.message ? s.error.message : 'disconnected'
        node.status({ fill: 'red', shape: 'ring', text: why.slice(0, 60) })
        if (!failing) {
          failing = true
          node.error(`Shaobing event stream: ${why}`, {
            topic: 'shaobing/link',
            payload: { state: 'disconnected', retryInMs: s.retryInMs },
            statusCode: (s.error && s.error.status) || null,
          })
        }
      }
    },
    onGap(gap) {
      node.warn(`events were missed: the gateway keeps them back to id ${gap.oldest} only`)
    },
  })
  node.on('close', (done) => {
    stream.close().then(done, done)
  })
  return gateway
}

module.exports = { listen }
