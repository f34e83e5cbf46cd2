// The builder's shape detection (runtimes/builder/shape.ts) and language choice: every example is
// recognised as the shape it is written for, a kiln function as none, and two candidates are never picked.
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { describeGuess, detectShape, languageOf } from '../../../runtimes/builder/index.js'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const src = (p: string) => readFileSync(join(ROOT, p), 'utf8')

describe('shape detection', () => {
  it.each([
    ['examples/hello/index.js', 'node', undefined],
    ['examples/fission-hello/hello.js', 'node', 'fission'],
    ['examples/openfaas-node/handler.js', 'node', 'openfaas'],
    ['examples/lambda-node/index.js', 'node', 'lambda'],
    ['examples/python-hello/main.py', 'python', undefined],
    ['examples/openfaas-python/handler.py', 'python', 'openfaas'],
    ['examples/lambda-python/lambda_function.py', 'python', 'lambda'],
  ] as const)('%s is %s', (file, lang, shape) => {
    expect(detectShape(src(file), lang).shape).toBe(shape)
  })

  it('names two candidates and picks neither', () => {
    const g = detectShape('exports.handler = async (event, context) => context.succeed(event.requestContext)', 'node')
    expect(g.shape).toBeUndefined()
    expect(g.matches.map((m) => m.shape).sort()).toEqual(['lambda', 'openfaas'])
    expect(describeGuess(g)).toMatch(/--shape lambda\|openfaas|--shape openfaas\|lambda/)
  })

  it('says nothing for a kiln function', () => {
    expect(describeGuess(detectShape(src('examples/hello/index.js'), 'node'))).toBeUndefined()
  })
})

describe('builder language', () => {
  it('follows the runtime language, then its name, then the source', () => {
    expect(languageOf({ source: join(ROOT, 'examples/hello/index.js'), runtime: 'anything', language: 'python' })).toBe('python')
    expect(languageOf({ source: join(ROOT, 'examples/hello/index.js'), runtime: 'python3.12' })).toBe('python')
    expect(languageOf({ source: join(ROOT, 'examples/lambda-python'), runtime: 'fission-env' })).toBe('python')
    expect(languageOf({ source: join(ROOT, 'examples/python-hello'), runtime: 'my-env' })).toBe('python')
    expect(languageOf({ source: join(ROOT, 'examples/fission-hello/hello.js'), runtime: 'fission-env' })).toBe('node')
    expect(languageOf({ source: join(ROOT, 'examples/lambda-node'), runtime: 'fission-env' })).toBe('node')
  })
})
