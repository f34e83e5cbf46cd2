// Which format each document is written in, and all of them as one list of Kiln resources. A Fission
// spec folder is converted as a whole (packages, archives and functions refer to each other).
import { CliError, EXIT } from '../../client.js'
import type { Doc } from '../documents.js'
import { key, type Conversion } from '../desired.js'
import { fromFission, isFissionDoc } from './fission.js'
import { fromKiln, isKilnDoc } from './kiln.js'
import { fromStack, isStackDoc } from './openfaas.js'

export function convert(docs: Doc[]): Conversion {
  const out: Conversion = { items: [], notes: [] }
  const fission = docs.filter(isFissionDoc)
  if (fission.length) {
    const c = fromFission(fission)
    out.items.push(...c.items)
    out.notes.push(...c.notes)
    out.setName = c.setName
  }
  for (const d of docs) {
    if (isFissionDoc(d)) continue
    if (isStackDoc(d)) {
      const c = fromStack(d)
      out.items.push(...c.items)
      out.notes.push(...c.notes)
    } else if (isKilnDoc(d)) out.items.push(fromKiln(d))
    else {
      throw new CliError(`${d.where}: not a document Kiln applies (apiVersion ${JSON.stringify(d.doc.apiVersion ?? null)}, kind ${JSON.stringify(d.doc.kind ?? null)}): ` +
        'Kiln reads kiln.dev/v1 resources, workflow files, Fission specs (fission.io/v1) and OpenFaaS stack files', EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
    }
  }
  const seen = new Map<string, string>()
  for (const i of out.items) {
    const k = key(i)
    if (seen.has(k)) throw new CliError(`${i.where}: ${i.kind} ${i.name} is also declared in ${seen.get(k)}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
    seen.set(k, i.where)
  }
  return out
}
