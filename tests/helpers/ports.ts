/** A port free on loopback now, for a server that must come back on the same one (or a child process). */
import { createServer, type AddressInfo } from 'node:net'

export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}
