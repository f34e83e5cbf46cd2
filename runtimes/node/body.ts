// Reads a request body into memory under a size limit, and parses it the way Express' body parsers do.
import type { IncomingMessage } from 'node:http'
import { parse as parseQuery } from 'node:querystring'

export class BodyTooLarge extends Error {}
export class BadBody extends Error {}

/** True when the request announces no body at all, so reading it can be skipped synchronously. */
export function hasNoBody(req: IncomingMessage): boolean {
  const h = req.headers
  const len = h['content-length']
  return h['transfer-encoding'] === undefined && (len === undefined || len === '0')
}

/** Buffers the body; rejects with BodyTooLarge past `max` bytes (announced or actual). */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = req.headers['content-length']
    if (announced !== undefined && Number(announced) > max) {
      reject(new BodyTooLarge())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        req.off('data', onData)
        req.off('end', onEnd)
        reject(new BodyTooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', reject)
  })
}

/** The media type of a content-type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return ''
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

const CHARSET = /;\s*charset\s*=\s*"?([\w-]+)"?/i

function decode(raw: Buffer, contentType: string): string {
  const m = CHARSET.exec(contentType)
  const cs = m === null ? 'utf-8' : m[1].toLowerCase()
  if (cs === 'utf-8' || cs === 'utf8') return raw.toString('utf8')
  if (cs === 'latin1' || cs === 'iso-8859-1' || cs === 'ascii' || cs === 'us-ascii') return raw.toString('latin1')
  if (cs === 'utf-16le' || cs === 'ucs-2') return raw.toString('utf16le')
  return new TextDecoder(cs).decode(raw)
}

/**
 * Express' json / urlencoded / text / raw parsers in one: JSON (`application/json`, `+json`) → value,
 * `application/x-www-form-urlencoded` → object (repeated keys as arrays), `text/*` → string,
 * anything else → Buffer; an empty body → undefined.
 */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined
  const type = mediaType(contentType)
  if (type === 'application/json' || type.endsWith('+json')) {
    const text = decode(raw, contentType!)
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new BadBody(`invalid JSON body: ${(err as Error).message}`)
    }
  }
  if (type === 'application/x-www-form-urlencoded') return { ...parseQuery(decode(raw, contentType!)) }
  if (type.startsWith('text/')) return decode(raw, contentType!)
  return raw
}
