'use strict'
/**
 * The gateway config node: where a Shaobing gateway is and who this Node-RED is to it.
 *
 * - `url`, the gateway's HTTP API, with an API token (Node-RED's credential store) an admin issued
 *   for this integration (`POST /api/operators/{id}/tokens`), scoped as the gateway's roles are:
 *   `viewer` to listen where reads need a sign-in, `operator` to acknowledge, lift and issue,
 *   `approver` to approve or reject.
 * - `mqttUrl`, with a device identity's username and password (`shaobing device add`), for the
 *   readings the nodes send: the identity's role decides which sensors it may speak for (`sensor`
 *   its own, `station` its stations', as for any device).
 *
 * It gives each node that listens an event stream of its own (resumed from the last event it
 * delivered) and holds one MQTT connection (opened when a reading-out node first needs it).
 */
const { join } = require('node:path')
const { tmpdir } = require('node:os')
const mqtt = require('mqtt')
const { EventStream } = require('../lib/events.cjs')

module.exports = function (RED) {
  function GatewayNode(config) {
    RED.nodes.createNode(this, config)
    const node = this
    node.name = config.name
    node.url = String(config.url || '').replace(/\/+$/, '')
    node.mqttUrl = String(config.mqttUrl || '')
    node.token = node.credentials && node.credentials.token
    const userDir = (RED.settings && RED.settings.userDir) || tmpdir()
    /**
     * An event stream for one listening node, with its own cursor (kept in Node-RED's user
     * directory under the node's id), so each node gets every event once, across its own
     * redeploys and restarts of Node-RED.
     */
    node.events = function (listener, types) {
      return new EventStream({
        url: node.url,
        types,
        token: node.token,
        stateFile: join(userDir, '.shaobing', `events-${listener.id.replace(/[^\w.-]/g, '_')}.json`),
        log: listener,
      })
    }
    node.mqttClient = undefined
    node.mqttUsers = new Set()

    /** The shared MQTT connection, as the configured device identity. */
    node.mqtt = function (user) {
      node.mqttUsers.add(user)
      if (!node.mqttClient) {
        const username = node.credentials && node.credentials.username
        node.mqttClient = mqtt.connect(node.mqttUrl, {
          username: username || undefined,
          password: (node.credentials && node.credentials.password) || undefined,
          clientId: `${username || 'node-red'}-nr-${node.id.replace(/[^\w]/g, '').slice(0, 8)}`,
          protocolVersion: 4,
          clean: true,
          reconnectPeriod: 2000,
          connectTimeout: 10_000,
        })
        const tell = (state, err) => {
          for (const u of node.mqttUsers) u.onMqttState?.(state, err)
        }
        node.mqttClient.on('connect', () => tell('connected'))
        node.mqttClient.on('reconnect', () => tell('connecting'))
        node.mqttClient.on('close', () => tell('disconnected'))
        node.mqttClient.on('error', (err) => tell('error', err))
      }
      return node.mqttClient
    }
    node.releaseMqtt = function (user) {
      node.mqttUsers.delete(user)
    }

    node.on('close', async (done) => {
      try {
        if (node.mqttClient) await node.mqttClient.endAsync()
      } finally {
        done()
      }
    })
  }

  RED.nodes.registerType('shaobing-gateway', GatewayNode, {
    credentials: {
      token: { type: 'password' },
      username: { type: 'text' },
      password: { type: 'password' },
    },
  })
}
