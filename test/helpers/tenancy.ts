// Tenancy set-up shared by the namespace, access and secret tests: namespaces and tokens made through
// the API with the platform's admin token, and requests made with a given token (or none).
import { request } from 'undici'
import type { TestPlatform } from './platform.js'

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }

/** One request to the platform with exactly this token (undefined: none), to its API or data-plane listener. */
export async function as(p: TestPlatform, token: string | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
  const api = path.startsWith('/v1/')
  const res = await request(`${api ? p.apiUrl : p.url}${path}`, {
    method: method as 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  // A stream (GET /v1/watch, logs?follow=true) never ends: its status and headers are the answer.
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    res.body.destroy()
    return { status: res.statusCode, headers: res.headers, text: '', json: () => ({}) }
  }
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
}

export async function createNamespace(p: TestPlatform, name: string, spec: Record<string, unknown> = {}): Promise<void> {
  const r = await p.call('/v1/namespaces', { method: 'POST', body: JSON.stringify({ metadata: { name }, spec }), headers: { 'content-type': 'application/json' } })
  if (r.status !== 201) throw new Error(`namespace ${name}: ${r.status} ${r.text}`)
}

/** A new token (the admin makes it); returns the token string. */
export async function tokenFor(p: TestPlatform, role: string, namespaces?: string[]): Promise<string> {
  const r = await p.call('/v1/tokens', { method: 'POST', body: JSON.stringify({ role, ...(namespaces ? { namespaces } : {}) }), headers: { 'content-type': 'application/json' } })
  if (r.status !== 201) throw new Error(`token ${role}: ${r.status} ${r.text}`)
  return r.json().token
}
