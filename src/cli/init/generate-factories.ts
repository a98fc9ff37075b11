import { columnValue, type ColumnValue } from './column-value.js'
import { quote } from './quote.js'
import type { TableModel } from './table-model.js'

export interface GenerateOptions {
  /** Import path of the schema module from the factories module (`../db/schema.js`). */
  schemaImport: string
  /** Where `defineFactory` comes from. @default 'leakless' */
  leaklessImport?: string
}

/** Identifiers the module declares itself; a table exported under one of these names gets a suffix. */
const TAKEN = new Set(['defineFactory', 'schema', 'factories', 'randomUUID'])

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const property = (key: string) => (IDENTIFIER.test(key) ? key : quote(key))

/** A trait per value of the table's first NOT NULL enum column (`.traits({ admin: { role: 'admin' } })`), or nothing. */
function enumTraits(table: TableModel): string {
  const column = table.columns.find((c) => c.notNull && c.enumValues.length > 1 && c.references === null)
  if (column === undefined) return ''
  const traits = column.enumValues.map(
    (value) => `  ${property(value)}: { ${property(column.key)}: ${quote(value)} as const },`,
  )
  return `.traits({\n${traits.join('\n')}\n})`
}

/** Orders tables parents first by their NOT NULL references; tables on a cycle (and what needs them) are left out with a reason. */
export function orderTables(tables: readonly TableModel[]): {
  ordered: TableModel[]
  skipped: { table: TableModel; reason: string }[]
} {
  const parentsOf = (t: TableModel) => [
    ...new Set(
      t.columns.flatMap((c) => (c.notNull && !c.hasDefault && c.references !== null ? [c.references.table] : [])),
    ),
  ]
  const done = new Set<string>()
  const ordered: TableModel[] = []
  const skipped: { table: TableModel; reason: string }[] = []
  for (const table of tables) {
    if (table.unknownParents.length > 0) {
      skipped.push({
        table,
        reason: `references ${table.unknownParents.join(', ')} (NOT NULL), which the schema module does not export`,
      })
    }
  }
  let pending = tables.filter((t) => !skipped.some((s) => s.table === t))
  for (;;) {
    const ready = pending
      .filter((t) => parentsOf(t).every((p) => done.has(p) && p !== t.exportName))
      .sort((a, b) => (a.exportName < b.exportName ? -1 : a.exportName > b.exportName ? 1 : 0))
    if (ready.length === 0) break
    for (const t of ready) {
      done.add(t.exportName)
      ordered.push(t)
    }
    pending = pending.filter((t) => !done.has(t.exportName))
  }
  const onCycle = (start: TableModel): boolean => {
    const seen = new Set<string>()
    const stack = parentsOf(start)
    while (stack.length > 0) {
      const name = stack.pop()!
      if (name === start.exportName) return true
      const parent = pending.find((t) => t.exportName === name)
      if (parent === undefined || seen.has(name)) continue
      seen.add(name)
      stack.push(...parentsOf(parent))
    }
    return false
  }
  for (const table of pending) {
    const parents = parentsOf(table).filter((p) => !done.has(p))
    const reason = onCycle(table)
      ? `its NOT NULL foreign keys form a cycle (through ${parents.join(', ')}): write this factory by hand`
      : `references ${parents.join(', ')}, which has no generated factory`
    skipped.push({ table, reason })
  }
  return { ordered, skipped }
}

/**
 * The source of a factories module for drizzle tables: one `defineFactory` per table, parents first,
 * and `factories`, the map `scope.bind()` and the runner adapters take. Pure: tables in, text out.
 */
export function generateFactories(tables: readonly TableModel[], options: GenerateOptions): string {
  const { ordered, skipped } = orderTables(tables)
  const names = new Map<string, string>()
  for (const t of ordered) {
    let name = TAKEN.has(t.exportName) ? `${t.exportName}Factory` : t.exportName
    while ([...names.values()].includes(name)) name = `${name}_`
    names.set(t.exportName, name)
  }
  let usesUuid = false
  const blocks = ordered.map((table) => {
    const lines: string[] = []
    for (const column of table.columns) {
      const value: ColumnValue = columnValue(column, table.exportName)
      const key = property(column.key)
      switch (value.kind) {
        case 'omit':
          break
        case 'note':
          lines.push(`  // ${key}: ${value.note}`)
          break
        case 'ref': {
          const parent = names.get(value.table)!
          const parentTable = tables.find((t) => t.exportName === value.table)
          const pk = parentTable?.columns.filter((c) => c.primary) ?? []
          const byKey = pk.length === 1 && pk[0]!.key === value.key
          lines.push(`  ${key}: f.ref(${parent}${byKey ? '' : `, ${quote(value.key)}`}),`)
          break
        }
        case 'value':
          if (value.code.includes('randomUUID()')) usesUuid = true
          if (value.note !== undefined) lines.push(`  // ${key}: ${value.note}`)
          lines.push(`  ${key}: ${value.code},`)
      }
    }
    const body = lines.length === 0 ? '({})' : `({\n${lines.join('\n')}\n})`
    return `/** ${table.qualifiedName} */\nexport const ${names.get(table.exportName)} = defineFactory(schema.${table.exportName}, (f) => ${body})${enumTraits(table)}`
  })
  const header = [
    '// Written by `leakless init`: edit freely, it is yours now. Unique and identifying values start with the',
    "// scope's id (f.id, f.email, f.slug), so cleanup and the audit find every row a test made.",
    ...(usesUuid ? ["import { randomUUID } from 'node:crypto'"] : []),
    `import { defineFactory } from ${quote(options.leaklessImport ?? 'leakless')}`,
    `import * as schema from ${quote(options.schemaImport)}`,
  ]
  const notes = skipped.map(
    ({ table, reason }) => `// ${table.exportName} (${table.qualifiedName}): no factory, ${reason}.`,
  )
  const map = `/** Every factory above, for \`scope.bind(factories)\` and \`leaklessTest({ factories })\`. */\nexport const factories = { ${ordered
    .map((t) => names.get(t.exportName))
    .join(', ')} }`
  return `${[header.join('\n'), ...blocks, ...(notes.length > 0 ? [notes.join('\n')] : []), map].join('\n\n')}\n`
}
