/**
 * A reader for the subset of YAML that GitHub Actions workflows in the docs use: block mappings and
 * sequences by indentation, `- key: value` items, flow sequences of scalars (`[1, 2]`), quoted and
 * plain scalars, `|` / `>` block scalars, and comments. Scalars stay strings. Anything outside the
 * subset (anchors, tags, flow mappings, multi-line plain scalars, tabs) throws with the line number,
 * so a test never checks a half-read document. The project has no YAML dependency, on purpose.
 */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue }

interface Line {
  no: number
  indent: number
  /** Without indentation and comment. */
  text: string
  /** As written, for block scalars. */
  raw: string
}

const KEY = /^([A-Za-z0-9_$][^:'"]*?|'[^']*'|"[^"]*"):(?: +(.*))?$/

export function parseYaml(source: string): YamlValue {
  const lines: Line[] = []
  source.split('\n').forEach((raw, i) => {
    if (/^\s*\t/.test(raw)) throw new Error(`line ${i + 1}: tab indentation`)
    const text = stripComment(raw).trim()
    if (text !== '') lines.push({ no: i + 1, indent: raw.length - raw.trimStart().length, text, raw })
  })
  let i = 0
  const fail = (line: Line | undefined, why: string): never => {
    throw new Error(`line ${line?.no ?? 'end'}: ${why}${line ? `: ${line.raw.trim()}` : ''}`)
  }
  const isItem = (text: string) => text === '-' || text.startsWith('- ')

  function node(indent: number): YamlValue {
    return isItem(lines[i]!.text) ? sequence(indent) : mapping(indent)
  }

  function mapping(indent: number): Record<string, YamlValue> {
    const out: Record<string, YamlValue> = {}
    while (i < lines.length && lines[i]!.indent === indent && !isItem(lines[i]!.text)) {
      const line = lines[i]!
      const match = KEY.exec(line.text) ?? fail(line, 'expected `key: value`')
      const key = unquote(match[1]!)
      if (key in out) fail(line, `duplicate key "${key}"`)
      i++
      out[key] = valueOf(match[2] ?? '', indent, line)
    }
    if (i < lines.length && lines[i]!.indent > indent) fail(lines[i], 'unexpected indentation')
    return out
  }

  function valueOf(rest: string, indent: number, line: Line): YamlValue {
    if (/^[|>][-+]?$/.test(rest)) return blockScalar(rest, indent)
    if (rest !== '') return scalar(rest, line)
    const next = lines[i]
    if (next === undefined || next.indent < indent) return ''
    if (next.indent > indent) return node(next.indent)
    // `key:` followed by `- item` at the same indentation is a sequence too.
    return isItem(next.text) ? sequence(indent) : ''
  }

  function sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = []
    while (i < lines.length && lines[i]!.indent === indent && isItem(lines[i]!.text)) {
      const line = lines[i]!
      const content = line.text.slice(1).trimStart()
      if (content === '') {
        i++
        const next = lines[i]
        if (next === undefined || next.indent <= indent) fail(line, 'empty sequence item')
        out.push(node(next!.indent))
      } else if (KEY.test(content)) {
        // `- key: value` opens a mapping whose keys line up with `key`.
        const inner = indent + (line.text.length - content.length)
        lines[i] = { ...line, indent: inner, text: content }
        out.push(mapping(inner))
      } else {
        i++
        out.push(scalar(content, line))
      }
    }
    return out
  }

  function blockScalar(style: string, indent: number): string {
    const body: string[] = []
    while (i < lines.length && lines[i]!.indent > indent) body.push(lines[i++]!.raw.trim())
    const text = style.startsWith('>') ? body.join(' ') : body.join('\n')
    return style.endsWith('-') ? text : `${text}\n`
  }

  function scalar(text: string, line: Line): YamlValue {
    if (text.startsWith('[')) {
      if (!text.endsWith(']')) fail(line, 'a flow sequence must end on its line')
      const inner = text.slice(1, -1).trim()
      return inner === '' ? [] : inner.split(',').map((part) => scalar(part.trim(), line))
    }
    if (/^[{&*!]/.test(text)) fail(line, 'flow mappings, anchors, aliases and tags are not supported')
    return unquote(text)
  }

  const root = lines.length === 0 ? {} : node(lines[0]!.indent)
  if (i < lines.length) fail(lines[i], 'unexpected content')
  return root
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replaceAll("''", "'")
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(["\\/nt])/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c)
  }
  return text
}

/** A `#` starts a comment at the start of a line or after a space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== null) {
      if (c === quote) quote = null
    } else if (c === '"' || c === "'") {
      // Quotes count only where a scalar can start with one: `key: "…"`, `- '…'`, `[…, "…"]`.
      if (/(^|[\s:[,-])$/.test(line.slice(0, i))) quote = c
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i)
    }
  }
  return line
}
