/** Seams between the gateway's stages, free of any SDK type. */

/**
 * Decides on one client PUBLISH before the broker acknowledges it. `client` is null for wills the
 * broker publishes itself; calling back with an error drops the client; calling back with
 * `'refused'` acknowledges the message but forwards it to no subscriber.
 */
export type PublishGate = (
  client: { readonly id: string } | null,
  packet: { readonly topic: string; readonly payload: Buffer | string },
  callback: (err: Error | null, verdict?: 'refused') => void,
) => void
