/**
 * The embedded Node-RED's userDir, as the gateway prepares it before Node-RED starts: the link to
 * the Shaobing nodes, the flow credentials' key, the initial flows (never over existing ones).
 */
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  CREDENTIAL_SECRET_FILE,
  FLOW_FILE,
  nodePackageDir,
  PACKAGE_NAME,
  prepareUserDir,
} from '../../../gateway/src/nodered/embedded.js'

const ROOT = join(import.meta.dirname, '../../..')
const fresh = () => mkdtempSync(join(tmpdir(), 'shaobing-nodered-'))

describe('the Node-RED userDir', () => {
  test('the node package is found in this repository, from the sources and from dist/', () => {
    expect(nodePackageDir()).toBe(join(ROOT, 'dashboards/node-red'))
    expect(nodePackageDir(join(ROOT, 'dist/gateway/src/nodered'))).toBe(join(ROOT, 'dashboards/node-red'))
    expect(() => nodePackageDir(tmpdir())).toThrow(/no dashboards\/node-red\/package.json above/)
  })

  test('links the package, makes a private key once, installs the flows only into an empty userDir', () => {
    const dir = fresh()
    const userDir = join(dir, 'nr')
    const pkg = nodePackageDir()
    writeFileSync(join(dir, 'first.json'), '[{"id":"a","type":"tab"}]')
    writeFileSync(join(dir, 'second.json'), '[{"id":"b","type":"tab"}]')

    const first = prepareUserDir({ userDir, flows: join(dir, 'first.json') }, pkg)
    const link = join(userDir, 'node_modules', PACKAGE_NAME)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe(pkg)
    expect(first.flowsInstalled).toBe(true)
    expect(first.credentialSecret).toMatch(/^[0-9a-f]{64}$/)
    expect(lstatSync(join(userDir, CREDENTIAL_SECRET_FILE)).mode & 0o777).toBe(0o600)

    // A restart with another flow file: the flows deployed since are kept, and so is the key.
    const again = prepareUserDir({ userDir, flows: join(dir, 'second.json') }, pkg)
    expect(again.flowsInstalled).toBe(false)
    expect(readFileSync(join(userDir, FLOW_FILE), 'utf8')).toBe('[{"id":"a","type":"tab"}]')
    expect(again.credentialSecret).toBe(first.credentialSecret)
  })

  test('a link to another checkout is replaced; a directory put there by hand is refused, not deleted', () => {
    const dir = fresh()
    const pkg = nodePackageDir()
    const moved = join(dir, 'moved')
    mkdirSync(join(moved, 'node_modules'), { recursive: true })
    symlinkSync(join(dir, 'old-checkout'), join(moved, 'node_modules', PACKAGE_NAME))
    prepareUserDir({ userDir: moved }, pkg)
    expect(readlinkSync(join(moved, 'node_modules', PACKAGE_NAME))).toBe(pkg)

    const byHand = join(dir, 'by-hand')
    mkdirSync(join(byHand, 'node_modules', PACKAGE_NAME), { recursive: true })
    writeFileSync(join(byHand, 'node_modules', PACKAGE_NAME, 'package.json'), '{}')
    expect(() => prepareUserDir({ userDir: byHand }, pkg)).toThrow(/is not the gateway's link to its nodes/)
    expect(readFileSync(join(byHand, 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8')).toBe('{}')
  })

  test('an emptied key file is refused: the flows’ credentials would be lost', () => {
    const userDir = join(fresh(), 'nr')
    mkdirSync(userDir)
    writeFileSync(join(userDir, CREDENTIAL_SECRET_FILE), '')
    expect(() => prepareUserDir({ userDir }, nodePackageDir())).toThrow(/is empty/)
  })
})
