// Where the console draws a workflow's tasks: a column per step of the longest chain of `requires`
// before a task, rows in the spec's order, an edge per requirement.
import { describe, expect, it } from 'vitest'
import { layoutDag } from '../../../console/dag-layout.js'

describe('layoutDag', () => {
  it('puts each task right of everything it requires', () => {
    // The example order workflow: validate -> price, stock -> route; notify on its own.
    const l = layoutDag({ validate: {}, price: { requires: ['validate'] }, stock: { requires: ['validate'] }, route: { requires: ['price', 'stock'] }, notify: {} })
    expect(l.nodes).toEqual([
      { name: 'validate', column: 0, row: 0 }, { name: 'price', column: 1, row: 0 }, { name: 'stock', column: 1, row: 1 },
      { name: 'route', column: 2, row: 0 }, { name: 'notify', column: 0, row: 1 },
    ])
    expect(l.edges).toEqual([{ from: 'validate', to: 'price' }, { from: 'validate', to: 'stock' }, { from: 'price', to: 'route' }, { from: 'stock', to: 'route' }])
    expect([l.columns, l.rows]).toEqual([3, 2])
  })

  it('takes the longest chain, ignores unknown names and does not loop on a cycle', () => {
    const l = layoutDag({ a: {}, b: { requires: ['a'] }, c: { requires: ['a', 'b', 'ghost'] } })
    expect(l.nodes.find((n) => n.name === 'c')!.column).toBe(2)
    expect(l.edges).not.toContainEqual({ from: 'ghost', to: 'c' })
    const cyc = layoutDag({ x: { requires: ['y'] }, y: { requires: ['x'] } })
    expect(cyc.nodes.map((n) => n.name)).toEqual(['x', 'y'])
    expect(layoutDag({})).toEqual({ nodes: [], edges: [], columns: 0, rows: 0 })
  })
})
