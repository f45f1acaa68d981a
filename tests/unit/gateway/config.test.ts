import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { formatFileIssue, parseCatalogue, parseYaml } from '../../../rules/src/index.js'
import { DEMO_CONFIG, loadConfig } from '../../../gateway/src/config/load.js'
import { levelOfCode, parentCode, regionContains } from '../../../rules/src/index.js'
import { GatewayConfigFile } from '../../../gateway/src/config/schema.js'
import { insecureSettings } from '../../../gateway/src/security/defaults.js'

const DEMO_REGISTRY = join(import.meta.dirname, '../../../gateway/config/demo/county.yaml')

function configWith(registry: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-config-'))
  writeFileSync(join(dir, 'registry.yaml'), registry)
  writeFileSync(join(dir, 'gateway.yaml'), 'registry: registry.yaml\n')
  return join(dir, 'gateway.yaml')
}

describe('configuration loading', () => {
  test('the demo configuration loads with every shipped catalogue', () => {
    const loaded = loadConfig(DEMO_CONFIG)
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    expect(loaded.value.registry.stations.length).toBeGreaterThanOrEqual(9)
    expect(loaded.value.registry.terminals.length).toBeGreaterThanOrEqual(24)
    expect(loaded.value.catalogues.map((c) => c.catalogue.catalogue).sort()).toEqual([
      'dust',
      'flash-flood',
      'gas',
      'hydrology',
      'major-hazard',
      'meteorology',
      'seismic',
    ])
    expect(loaded.value.warnings).toEqual([])
    const kinds = new Set(loaded.value.registry.stations.flatMap((s) => s.sensors.map((x) => x.kind)))
    expect([...kinds].sort()).toEqual(['dust', 'gas', 'rain', 'seismic', 'water_level', 'weather'])
  })

  test('a bad registry is refused with file, line, path and reason', () => {
    const file = configWith(
      [
        'regions:',
        "  - { code: '511823000000', name: 县, level: county }",
        "  - { code: '5118231002', name: 村, level: village }",
        'stations:',
        "  - { id: S1, name: s, region: '511823999999', sensors: [{ id: s1, kind: water_level }] }",
        "  - { id: S2, name: s, region: '511823000000', sensors: [{ id: s1, kind: lava_flow }] }",
        '',
      ].join('\n'),
    )
    const loaded = loadConfig(file)
    expect(loaded.ok).toBe(false)
    if (loaded.ok) return
    expect(
      loaded.error.map(formatFileIssue).map((l) => l.replace(/^.*registry\.yaml/, 'registry.yaml')),
    ).toEqual([
      'registry.yaml:3: regions.1.code: expected a 12-digit administrative division code',
      'registry.yaml:3: regions.1.code: parent region 511823100000 is not declared',
      'registry.yaml:5: stations.0.region: unknown region 511823999999',
      'registry.yaml:6: stations.1.sensors.0.id: duplicate sensor id s1',
    ])
  })

  test.each([
    ['regions: 5\n', 'regions'],
    ['regions: [{ code: 7 }]\nstations: nope\n', 'regions.0.code'],
    ['- just\n- a list\n', ''],
  ])('a registry of the wrong shape is refused, not crashed on: %j', (text, path) => {
    const loaded = loadConfig(configWith(text))
    expect(!loaded.ok && loaded.error[0]?.path).toBe(path)
  })

  test('an unknown sensor kind is refused after the files parse', () => {
    const file = configWith(
      [
        'regions:',
        "  - { code: '511823000000', name: 县, level: county }",
        'stations:',
        "  - { id: S2, name: s, region: '511823000000', sensors: [{ id: s2, kind: lava_flow }] }",
        '',
      ].join('\n'),
    )
    const loaded = loadConfig(file)
    expect(!loaded.ok && loaded.error.map((i) => [i.path, i.message])).toEqual([
      ['stations.0.sensors.0.kind', expect.stringContaining('unknown sensor kind lava_flow')],
    ])
  })

  test('a station lacking a constant a rule uses is loaded with a warning', () => {
    const file = configWith(
      [
        'regions:',
        "  - { code: '511823000000', name: 县, level: county }",
        'stations:',
        "  - { id: S1, name: s, region: '511823000000', params: { warning_level: 3 }, sensors: [{ id: s1, kind: water_level }] }",
        '',
      ].join('\n'),
    )
    const loaded = loadConfig(file)
    expect(loaded.ok && loaded.value.warnings).toEqual([
      '1 station(s) lack the constants for level(s) red, orange, blue of rule river-flood: S1',
    ])
    // Rules that need constants a station sets none of (a reservoir rule at a river gauge) are
    // only noted.
    expect(loaded.ok && loaded.value.notices).toContain(
      'rule reservoir-level never fires at 1 station(s) that set none of its constants: S1',
    )
  })

  test('station constants are layered county → township → village → station, nearest winning', () => {
    const file = configWith(
      [
        'regions:',
        "  - { code: '511823000000', name: 县, level: county, params: { a: 1, b: 1, c: 1 } }",
        "  - { code: '511823100000', name: 镇, level: township, params: { b: 2 } }",
        "  - { code: '511823100201', name: 村, level: village, params: { c: 3 } }",
        'stations:',
        "  - { id: S1, name: s, region: '511823100201', params: { c: 4, d: 5 }, sensors: [{ id: s1, kind: rain }] }",
        "  - { id: S2, name: s, region: '511823100201', sensors: [{ id: s2, kind: rain }] }",
        '',
      ].join('\n'),
    )
    const loaded = loadConfig(file)
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error))
    expect(loaded.value.registry.stationInfo('S1')).toEqual({
      params: { a: 1, b: 2, c: 4, d: 5 },
      region: '511823100201',
    })
    expect(loaded.value.registry.stationInfo('S2')?.params).toEqual({ a: 1, b: 2, c: 3 })
  })

  test('a missing registry file is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shaobing-config-'))
    writeFileSync(join(dir, 'gateway.yaml'), 'registry: nowhere.yaml\nmqtt: { port: 99999 }\n')
    const loaded = loadConfig(join(dir, 'gateway.yaml'))
    expect(!loaded.ok && loaded.error.map((i) => [i.line, i.path])).toEqual([[2, 'mqtt.port']])
  })

  test('the demo registry file itself validates', () => {
    const loaded = loadConfig(configWith(`# copy\n${readFileSync(DEMO_REGISTRY, 'utf8')}`))
    expect(loaded.ok).toBe(true)
  })
})

describe('rule catalogue validation', () => {
  test('errors carry file, line and path', () => {
    const text = [
      'catalogue: x',
      'version: 1',
      'title: t',
      'rules:',
      '  - id: r',
      '    name: n',
      '    hazard: flood',
      '    kinds: [water_level]',
      '    reference: hydro.flood_signal',
      '    confidence: confirmed',
      '    source: s',
      '    levels:',
      '      - level: red',
      "        any_of: [{ quantity: stage_m, agg: sum, op: '>=', value: 3 }]",
      '      - level: purple',
      "        any_of: [{ quantity: stage_m, op: '>=' }]",
      '',
    ].join('\n')
    const parsed = parseCatalogue(text, 'x.yaml')
    expect(!parsed.ok && parsed.error.map(formatFileIssue)).toEqual([
      'x.yaml:14: rules.0.levels.0.any_of.0.window: agg sum needs a window',
      'x.yaml:15: rules.0.levels.1.level: Invalid option: expected one of "blue"|"yellow"|"orange"|"red"|"level_1"|"level_2"',
      'x.yaml:16: rules.0.levels.1.any_of.0: give exactly one of value or ref',
    ])
  })

  test('duplicate keys are refused, located', () => {
    const parsed = parseCatalogue('catalogue: x\nversion: 1\ncatalogue: y\n', 'd.yaml')
    expect(!parsed.ok && parsed.error[0]).toMatchObject({ file: 'd.yaml', line: 3 })
  })

  test('ISO timestamps stay strings (YAML 1.2 core schema)', () => {
    const parsed = parseYaml(
      'start: 2026-07-15T06:00:00+08:00\n',
      't.yaml',
      z.strictObject({ start: z.string() }),
    )
    expect(parsed).toEqual({ ok: true, value: { start: '2026-07-15T06:00:00+08:00' } })
  })

  // Found by tests/fuzz/parsers.test.ts: an alias without its anchor threw a ReferenceError from the loader.
  test('an alias without its anchor is refused, located at the alias', () => {
    const parsed = parseCatalogue('catalogue: x\nversion: 1\ntitle: *nowhere\n', 'a.yaml')
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.error[0]).toMatchObject({ file: 'a.yaml', line: 3 })
    expect(!parsed.ok && parsed.error[0]?.message).toMatch(/alias/i)
  })

  test('YAML syntax errors are located', () => {
    const parsed = parseCatalogue('catalogue: x\n  bad: [\n', 'y.yaml')
    expect(!parsed.ok && parsed.error[0]?.file).toBe('y.yaml')
    expect(!parsed.ok && parsed.error[0]?.line).toBeGreaterThan(0)
  })
})

describe('administrative division codes', () => {
  test.each([
    ['510000000000', 'province', undefined],
    ['511800000000', 'city', '510000000000'],
    ['511823000000', 'county', '511800000000'],
    ['511823100000', 'township', '511823000000'],
    ['511823100201', 'village', '511823100000'],
  ])('%s is a %s inside %s', (code, level, parent) => {
    expect(levelOfCode(code)).toBe(level)
    expect(parentCode(code)).toBe(parent)
  })

  test('a county covers its villages, a village only itself', () => {
    expect(regionContains('511823000000', '511823100201')).toBe(true)
    expect(regionContains('511823100201', '511823100201')).toBe(true)
    expect(regionContains('511823100201', '511823100202')).toBe(false)
    expect(regionContains('511823100000', '511824100201')).toBe(false)
  })
})

describe('the embedded Node-RED (nodeRed)', () => {
  /** A gateway.yaml naming the demo registry, with `extra` lines, in a fresh directory. */
  function nodeRedConfig(extra: string): { dir: string; file: string } {
    const dir = mkdtempSync(join(tmpdir(), 'shaobing-config-'))
    const file = join(dir, 'gateway.yaml')
    writeFileSync(file, `registry: ${JSON.stringify(DEMO_REGISTRY)}\ndataDir: state\n${extra}\n`)
    return { dir, file }
  }
  const issues = (file: string, env: Record<string, string> = {}) => {
    Object.assign(process.env, env)
    try {
      const loaded = loadConfig(file)
      return loaded.ok ? loaded : loaded.error.map((i) => `${i.path}: ${i.message}`)
    } finally {
      for (const k of Object.keys(env)) delete process.env[k]
    }
  }
  const ENV = 'SHAOBING_TEST_CONFIG_NODE_RED_PASSWORD'

  test('is off by default, on loopback port 1880, its userDir in the data directory', () => {
    const { dir, file } = nodeRedConfig('')
    const loaded = loadConfig(file)
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    expect(loaded.value.config.nodeRed).toEqual({
      enabled: false,
      host: '127.0.0.1',
      port: 1880,
      userDir: join(dir, 'state', 'node-red'),
      env: {},
    })
    expect(loaded.value.nodeRedPassword).toBeUndefined()
  })

  test('its paths are relative to the configuration file; the password comes from the environment, not the configuration', () => {
    const { dir, file } = nodeRedConfig(
      `nodeRed: { enabled: true, port: 0, userDir: nr, flows: flows/sluice.json, env: { SLUICE_URL: 'http://127.0.0.1:9/relay' }, admin: { username: admin, password: { env: ${ENV} } } }`,
    )
    expect(issues(file, { [ENV]: 'pw' })).toEqual([
      `nodeRed.flows: no flow file ${join(dir, 'flows/sluice.json')}`,
    ])
    mkdirSync(join(dir, 'flows'))
    writeFileSync(join(dir, 'flows/sluice.json'), '[]')
    const loaded = issues(file, { [ENV]: ' s3cret pw \n' })
    expect(Array.isArray(loaded)).toBe(false)
    if (Array.isArray(loaded) || !loaded.ok) return
    expect(loaded.value.nodeRedPassword).toBe('s3cret pw')
    expect(loaded.value.config.nodeRed).toMatchObject({
      userDir: join(dir, 'nr'),
      flows: join(dir, 'flows/sluice.json'),
      env: { SLUICE_URL: 'http://127.0.0.1:9/relay' },
    })
    expect(JSON.stringify(loaded.value.config)).not.toContain('s3cret')
  })

  test('the password can come from a file beside the configuration', () => {
    const { dir, file } = nodeRedConfig(
      'nodeRed: { enabled: true, admin: { username: admin, password: { file: nr-password } } }',
    )
    writeFileSync(join(dir, 'nr-password'), 'from a file\n')
    const loaded = loadConfig(file)
    expect(loaded.ok && loaded.value.nodeRedPassword).toBe('from a file')
    writeFileSync(join(dir, 'nr-password'), '\n')
    expect(issues(file)).toEqual([': the password file is empty'])
  })

  test.each([
    [
      'nodeRed: { enabled: true }',
      {},
      [expect.stringMatching(/^nodeRed\.admin: the Node-RED editor needs an admin login/)],
    ],
    [
      `nodeRed: { enabled: true, admin: { username: admin, password: { env: ${ENV} } } }`,
      {},
      [`nodeRed.admin.password.env: environment variable ${ENV} is not set`],
    ],
    [
      `nodeRed: { enabled: true, admin: { username: admin, password: { env: ${ENV} } } }`,
      { [ENV]: '   ' },
      [`nodeRed.admin.password.env: environment variable ${ENV} is empty`],
    ],
    [
      `nodeRed: { enabled: true, admin: { username: '', password: { env: ${ENV} } } }`,
      { [ENV]: 'pw' },
      [expect.stringMatching(/^nodeRed\.admin\.username: /)],
    ],
    [
      'nodeRed: { enabled: true, admin: { username: admin, password: inline-is-refused } }',
      {},
      [expect.stringMatching(/^nodeRed\.admin\.password: /)],
    ],
    [
      'nodeRed: { enabled: true, editor: yes }',
      {},
      ['nodeRed: Unrecognized key: "editor"', expect.stringMatching(/^nodeRed\.admin: /)],
    ],
    [
      `nodeRed: { env: { 'not a name': x } }`,
      {},
      ['nodeRed.env.not a name: not a name is not an environment variable name'],
    ],
  ])('%s is refused', (yaml, env, expected) => {
    expect(issues(nodeRedConfig(yaml).file, env)).toEqual(expected)
  })

  test('a disabled Node-RED needs no admin, and its password is not read', () => {
    const { file } = nodeRedConfig(
      `nodeRed: { enabled: false, admin: { username: admin, password: { env: ${ENV} } } }`,
    )
    const loaded = loadConfig(file)
    expect(loaded.ok && loaded.value.nodeRedPassword).toBeUndefined()
  })

  test('an editor on a network address is a plain listener the site must accept', () => {
    const settings = (nodeRed: Record<string, unknown>) =>
      insecureSettings(
        GatewayConfigFile.parse({
          registry: 'county.yaml',
          nodeRed: { admin: { username: 'admin', password: { env: ENV } }, ...nodeRed },
        }),
        { demo: false, demoDevices: 0 },
      ).map((i) => `${i.setting}: ${i.why}`)
    expect(settings({ enabled: true, host: '0.0.0.0' })).toEqual([
      'plainListenerOnNetwork: nodeRed.host 0.0.0.0 (the Node-RED editor over plain HTTP) sends credentials and warnings unencrypted over the network; use TLS listeners',
    ])
    expect(settings({ enabled: true, host: '127.0.0.1' })).toEqual([])
    expect(settings({ enabled: false, host: '0.0.0.0' })).toEqual([])
  })
})

describe('SL 651 mappings and the listener', () => {
  const station = (sl651: string, sensors = '[{ id: wl1, kind: water_level }, { id: rg1, kind: rain }]') =>
    [
      'regions:',
      "  - { code: '511823000000', name: 县, level: county }",
      'stations:',
      `  - { id: S1, name: s, region: '511823000000', sensors: ${sensors}, sl651: ${sl651} }`,
      '',
    ].join('\n')

  test('a mapping of the standard’s elements to the station’s sensors and their kinds’ quantities loads', () => {
    const loaded = loadConfig(
      configWith(
        station(
          "{ address: '0061234567', password: 'ab12', elements: [{ element: Z, sensor: wl1, quantity: stage_m }, { element: DRZ1, sensor: wl1, quantity: stage_m, offset: 28.5 }, { element: PJ, sensor: rg1, quantity: rain_mm }, { element: VT, sensor: wl1, quantity: supply_v }] }",
        ),
      ),
    )
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    // Addresses and passwords are hex, matched upper-case as frames are read.
    expect(loaded.value.registry.rtu('0061234567')?.sl651?.password).toBe('AB12')
    expect(loaded.value.registry.rtu('0061234567')?.sl651?.elements[1]?.offset).toBe(28.5)
  })

  test('unknown elements, foreign sensors, undeclared quantities, repeated elements and shared addresses are refused', () => {
    const text = [
      'regions:',
      "  - { code: '511823000000', name: 县, level: county }",
      'stations:',
      "  - { id: S1, name: s, region: '511823000000', sensors: [{ id: wl1, kind: water_level }], sl651: { address: '0061234567', password: '1234', elements: [{ element: ZZZ, sensor: wl1, quantity: stage_m }, { element: Z, sensor: rg9, quantity: stage_m }, { element: PJ, sensor: wl1, quantity: rain_mm }, { element: PJ, sensor: wl1, quantity: stage_m }, { element: RGZS, sensor: wl1, quantity: stage_m }] } }",
      "  - { id: S2, name: s, region: '511823000000', sensors: [{ id: wl2, kind: water_level }], sl651: { address: '0061234567', password: '1234', elements: [{ element: Z, sensor: wl2, quantity: stage_m }] } }",
      "  - { id: S3, name: s, region: '511823000000', sensors: [{ id: wl3, kind: water_level }], sl651: { address: '61234567', password: '12', elements: [] } }",
      '',
    ].join('\n')
    const loaded = loadConfig(configWith(text))
    expect(!loaded.ok && loaded.error.map((i) => [i.path, i.message])).toEqual([
      ['stations.2.sl651.address', 'expected the 10 hex digits of the 5-byte station address'],
      ['stations.2.sl651.password', 'expected the 4 hex digits of the 2-byte password'],
      ['stations.2.sl651.elements', expect.stringContaining('>=1')],
    ])
    const valid = loadConfig(configWith(text.split('\n').slice(0, 5).join('\n') + '\n'))
    expect(!valid.ok && valid.error.map((i) => [i.path, i.message])).toEqual([
      ['stations.0.sl651.elements.0.element', expect.stringContaining('ZZZ is not an SL 651-2014 element')],
      ['stations.0.sl651.elements.1.sensor', 'rg9 is not a sensor of station S1 (its sensors: wl1)'],
      [
        'stations.0.sl651.elements.2.quantity',
        expect.stringContaining('kind water_level declares no quantity rain_mm'),
      ],
      ['stations.0.sl651.elements.3.element', 'element PJ is mapped twice'],
      [
        'stations.0.sl651.elements.4.element',
        expect.stringContaining('RGZS is not an SL 651-2014 element with values'),
      ],
      ['stations.1.sl651.address', "address 0061234567 is also station S1's"],
    ])
  })

  test('a listener on a network address without allowFrom is insecure; with it, or on loopback, it is not', () => {
    const settings = (sl651: Record<string, unknown>) =>
      insecureSettings(GatewayConfigFile.parse({ registry: 'county.yaml', sl651 }), {
        demo: false,
        demoDevices: 0,
      }).map((i) => i.setting)
    expect(settings({ host: '0.0.0.0', port: 5651 })).toEqual(['sl651OnNetwork'])
    expect(settings({ host: '0.0.0.0', port: 5651, allowFrom: ['10.64.0.0/12'] })).toEqual([])
    expect(settings({ host: '127.0.0.1', port: 5651 })).toEqual([])
    expect(settings({ host: '0.0.0.0' })).toEqual([]) // off
    expect(() => GatewayConfigFile.parse({ registry: 'r', sl651: { allowFrom: ['10.0.0.1'] } })).toThrow(
      /CIDR/,
    )
    expect(() => GatewayConfigFile.parse({ registry: 'r', sl651: { utcOffset: '8' } })).toThrow(/offset/)
  })
})

test('--sl651-port turns the SL 651 listener on, on that port', () => {
  const file = configWith(readFileSync(DEMO_REGISTRY, 'utf8'))
  const off = loadConfig(file)
  expect(off.ok && off.value.config.sl651.port).toBeNull()
  const on = loadConfig(file, { sl651Port: 0 })
  expect(on.ok && on.value.config.sl651.port).toBe(0)
})
