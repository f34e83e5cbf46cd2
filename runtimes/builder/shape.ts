// Shape detection: reads a function's entry source and says which calling convention it is written for
// (docs/shapes.md), with the evidence. It only suggests: `kiln fn deploy` applies a suggestion when no
// --shape was given and says so, and never picks between two that match (it names both and asks).
export type ShapeName = 'kiln' | 'fission' | 'openfaas' | 'lambda'

export interface ShapeGuess {
  /** the single shape the source matches, when exactly one non-kiln shape does */
  shape?: ShapeName
  /** every shape with evidence, and the evidence */
  matches: { shape: ShapeName; evidence: string }[]
}

interface Rule { shape: ShapeName; test: RegExp; evidence: string }

// A kiln function takes one argument (the request) and returns a value; those need no rule.
const NODE_RULES: Rule[] = [
  { shape: 'openfaas', test: /\bcontext\s*\.\s*(?:status\s*\(|headers\s*\(|succeed\s*\(|fail\s*\()/, evidence: 'context.status()/.succeed()/.fail() (OpenFaaS node template)' },
  { shape: 'lambda', test: /\b(?:exports\.handler\s*=|export\s+(?:const|let|async\s+function|function)\s+handler\b)[^]*?\(\s*event\b/, evidence: 'a handler(event, ...) export (AWS Lambda)' },
  { shape: 'lambda', test: /\brequestContext\b|\bqueryStringParameters\b|\bisBase64Encoded\b/, evidence: 'reads a Lambda HTTP API event (requestContext / queryStringParameters / isBase64Encoded)' },
  { shape: 'fission', test: /\bcontext\s*\.\s*request\b/, evidence: 'reads context.request (Fission Node environment)' },
]

const PYTHON_RULES: Rule[] = [
  { shape: 'fission', test: /^\s*(?:async\s+)?def\s+main\s*\(\s*\)\s*:/m, evidence: 'def main() without parameters (Fission Python environment)' },
  { shape: 'fission', test: /^\s*from\s+flask\s+import\s+[^\n]*\brequest\b|\bflask\.request\b/m, evidence: "reads Flask's request (Fission Python environment)" },
  { shape: 'lambda', test: /^\s*(?:async\s+)?def\s+(?:lambda_handler|handler)\s*\(\s*event\s*,\s*context\s*\)/m, evidence: 'def handler(event, context) (AWS Lambda)' },
  { shape: 'openfaas', test: /^\s*def\s+handle\s*\(\s*event\s*,\s*context\s*\)/m, evidence: 'def handle(event, context) (OpenFaaS python3-http template)' },
]

const RULES: Record<string, Rule[]> = { node: NODE_RULES, python: PYTHON_RULES }

export function detectShape(source: string, language: string): ShapeGuess {
  const matches: ShapeGuess['matches'] = []
  for (const r of RULES[language] ?? []) {
    if (r.test.test(source) && !matches.some((m) => m.shape === r.shape)) matches.push({ shape: r.shape, evidence: r.evidence })
  }
  // Fission's context.request alongside another shape's markers is not evidence of its own.
  const strong = matches.length > 1 ? matches.filter((m) => m.shape !== 'fission') : matches
  return { shape: strong.length === 1 ? strong[0].shape : undefined, matches }
}

/** One line for the deploy output: what was detected and how to choose. */
export function describeGuess(g: ShapeGuess): string | undefined {
  if (g.shape) {
    const m = g.matches.find((x) => x.shape === g.shape)!
    return `shape ${g.shape} detected: ${m.evidence}; pass --shape to choose another`
  }
  if (g.matches.length > 1) {
    return `the code looks like more than one shape (${g.matches.map((m) => `${m.shape}: ${m.evidence}`).join('; ')}); ` +
      `deployed as kiln: pass --shape ${g.matches.map((m) => m.shape).join('|')}`
  }
  return undefined
}
