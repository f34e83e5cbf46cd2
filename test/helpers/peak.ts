// The exact maximum of a count of the fleet's instances over a stretch of a test, for assertions like
// "never more than 2 instances": every change that can move the count (a record added to or removed
// from `fleet.records`, a record's `fn` or `state` assigned) recounts at once, so no overshoot can
// fall between two samples. It observes the real platform's objects and passes every write through.
import type { Fleet } from '../../poolmgr/fleet.js'
import type { InstanceRecord } from '../../poolmgr/instance.js'

export interface Peak {
  /** The highest count seen since tracking began (the count at that moment included). */
  readonly max: number
  readonly now: number
  /** Stops observing and puts the fleet's objects back as they were. */
  stop(): number
}

const WATCHED = ['fn', 'state'] as const

export function trackPeak(fleet: Fleet, counts: (r: InstanceRecord) => boolean): Peak {
  const records = fleet.records
  const instrumented = new Set<InstanceRecord>()
  let now = 0
  let max = 0
  const recount = () => {
    now = 0
    for (const r of records.values()) if (counts(r)) now++
    if (now > max) max = now
  }
  const watch = (r: InstanceRecord) => {
    if (instrumented.has(r)) return
    instrumented.add(r)
    for (const key of WATCHED) {
      // A class accessor (InstanceRecord.state tells the function that counts it) keeps working underneath.
      const accessor = classAccessor(r, key)
      if (accessor) {
        Object.defineProperty(r, key, {
          configurable: true,
          enumerable: true,
          get: () => accessor.get!.call(r),
          set: (v) => { accessor.set!.call(r, v); recount() },
        })
        continue
      }
      let value = r[key]
      Object.defineProperty(r, key, {
        configurable: true,
        enumerable: true,
        get: () => value,
        set: (v) => { value = v; recount() },
      })
    }
  }
  for (const r of records.values()) watch(r)
  const set = records.set.bind(records)
  const del = records.delete.bind(records)
  Object.defineProperty(records, 'set', { configurable: true, value: (k: string, r: InstanceRecord) => { set(k, r); watch(r); recount(); return records } })
  Object.defineProperty(records, 'delete', { configurable: true, value: (k: string) => { const had = del(k); recount(); return had } })
  recount()
  return {
    get max() { return max },
    get now() { return now },
    stop() {
      delete (records as { set?: unknown }).set
      delete (records as { delete?: unknown }).delete
      for (const r of instrumented) {
        for (const key of WATCHED) {
          if (classAccessor(r, key)) {
            Reflect.deleteProperty(r, key) // the class accessor shows again
            continue
          }
          const value = r[key]
          Object.defineProperty(r, key, { configurable: true, enumerable: true, writable: true, value })
        }
      }
      return max
    },
  }
}

/** The getter and setter the record's class defines for `key`, if it is an accessor there. */
function classAccessor(r: InstanceRecord, key: string): PropertyDescriptor | undefined {
  const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(r), key)
  return d?.set !== undefined ? d : undefined
}
