import { quote } from './quote.js'
import type { ColumnModel } from './table-model.js'

/** What a factory's defaults say for one column: an expression, nothing, or a note for the reader. */
export type ColumnValue =
  | { kind: 'value'; code: string; note?: string }
  | { kind: 'ref'; table: string; key: string }
  | { kind: 'omit' }
  | { kind: 'note'; note: string }

const words = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)

/** A label for `f.id()` / `f.email()` / `f.slug()`: letters and digits, short. */
export function labelOf(name: string, fallback: string): string {
  const label = words(name).join('').slice(0, 12)
  return label === '' ? fallback : label
}

/** A table's label: its name in the singular (`users` → `user`). */
export function singular(name: string): string {
  const label = labelOf(name, 'row')
  if (/ies$/.test(label)) return `${label.slice(0, -3)}y`
  if (/(ss|us)$/.test(label)) return label
  return label.replace(/s$/, '') || label
}

const EMAIL = /(^|_)e?mail(_?address)?$/
const SLUG = /(^|_)(slug|username|user_name|handle|login|nickname)$/
const TOKEN = /(^|_)(token|code|key|secret|reference|ref|external_id|customer_id|invite)$/

/** Free text by the column's name: faker's method, or null. */
function fakerFor(name: string): string | null {
  const n = words(name).join('_')
  const rules: [RegExp, string][] = [
    [/(^|_)first_name$/, 'person.firstName()'],
    [/(^|_)(last_name|surname)$/, 'person.lastName()'],
    [/(^|_|full_|display_)name$/, 'person.fullName()'],
    [/(^|_)(company|organization|organisation|team)(_name)?$/, 'company.name()'],
    [/(^|_)(title|subject|headline|label)$/, 'lorem.words(3)'],
    [/(^|_)(description|body|content|text|bio|summary|notes?|message|comment|details)$/, 'lorem.sentence()'],
    [/(^|_)(url|website|homepage|link)$/, 'internet.url()'],
    [/(^|_)(avatar|image|photo|picture)(_url)?$/, 'image.url()'],
    [/(^|_)(phone|mobile|phone_number)$/, 'phone.number()'],
    [/(^|_)city$/, 'location.city()'],
    [/(^|_)country$/, 'location.country()'],
    [/(^|_)(address|street)$/, 'location.streetAddress()'],
    [/(^|_)(zip|postcode|postal_code|zip_code)$/, 'location.zipCode()'],
    [/(^|_)(password|password_hash|passwordhash)$/, 'internet.password()'],
    [/(^|_)(ip|ip_address)$/, 'internet.ip()'],
    [/(^|_)(colou?r)$/, 'color.human()'],
  ]
  return rules.find(([pattern]) => pattern.test(n))?.[1] ?? null
}

const DAY = '24 * 60 * 60 * 1000'

function dateCode(name: string): string {
  const n = words(name).join('_')
  if (/(expires|expiry|until|due|ends|scheduled|starts)/.test(n)) return `new Date(Date.now() + 7 * ${DAY})`
  return 'new Date()'
}

function numberCode(column: ColumnModel): string {
  const n = words(column.name).join('_')
  const max = column.columnType === 'PgSmallInt' ? 32767 : 2147483647
  if (column.unique) return `f.faker.number.int({ min: 1, max: ${max} })`
  if (/(cents|amount|price|cost|total|balance)/.test(n)) return 'f.faker.number.int({ min: 100, max: 10000 })'
  if (/(count|quantity|qty|position|order|rank|number|age)/.test(n)) return 'f.faker.number.int({ min: 1, max: 100 })'
  return 'f.faker.number.int({ min: 1, max: 1000 })'
}

function fitted(code: string, length: number | null): string {
  return length === null ? code : `${code}.slice(0, ${length})`
}

// The longest default id with the run registry, and a handle's length (docs/identifiers.md#the-length-budget).
const ID = 24
const HANDLE = 20
const DOMAIN = '@example.test'.length

function textValue(column: ColumnModel, table: string): ColumnValue {
  const n = words(column.name).join('_')
  const { length } = column
  const fits = (size: number) => length === null || length >= size
  // Tags: unique or identifying values start with the scope's id, so cleanup and the audit find them; the
  // first form that fits the column's length wins, a 20-character handle last (found through the ledger).
  const first = (...options: Array<[code: string, size: number]>): ColumnValue => {
    const fit = options.find(([, size]) => fits(size))
    if (fit !== undefined) return { kind: 'value', code: fit[0] }
    return {
      kind: 'value',
      code: options[0]![0],
      note: `varchar(${length}) is too short for a leakless id (${ID} characters) or handle (${HANDLE}); widen it or override`,
    }
  }
  if (column.columnType === 'PgUUID') return column.notNull ? { kind: 'value', code: 'randomUUID()' } : { kind: 'omit' }
  if (EMAIL.test(n)) {
    const label = n === 'email' || n === 'mail' ? singular(table) : labelOf(n.replace(EMAIL, ''), 'user')
    return first([`f.email('${label}')`, ID + 1 + label.length + DOMAIN], ['f.email()', ID + DOMAIN])
  }
  if (SLUG.test(n)) {
    const label = singular(table)
    return first([`f.slug('${label}')`, ID + 1 + label.length], ['f.id()', ID], ['f.handle()', HANDLE])
  }
  if (column.primary) return first(['f.id()', ID], ['f.handle()', HANDLE])
  if (column.unique || TOKEN.test(n)) {
    const label = labelOf(column.name, 'key')
    return first([`f.id('${label}')`, ID + 1 + label.length], ['f.id()', ID], ['f.handle()', HANDLE])
  }
  const fake = fakerFor(column.name)
  if (fake !== null) return { kind: 'value', code: fitted(`f.faker.${fake}`, length) }
  if (!column.notNull) return { kind: 'omit' }
  if (column.columnType === 'PgChar' && length !== null)
    return { kind: 'value', code: `f.faker.string.alpha(${length})` }
  return { kind: 'value', code: fitted('f.faker.lorem.word()', length) }
}

/**
 * The default of one column in a generated factory. Left out: columns with a default (serial, identity,
 * generated included) and nullable ones without an obvious value; foreign keys become refs.
 */
export function columnValue(column: ColumnModel, table: string): ColumnValue {
  if (column.hasDefault) return { kind: 'omit' }
  if (column.references !== null) return column.notNull ? { kind: 'ref', ...column.references } : { kind: 'omit' }
  if (column.compositeReference) {
    return column.notNull
      ? { kind: 'note', note: 'part of a foreign key over several columns: pass it in the overrides' }
      : { kind: 'omit' }
  }
  if (column.enumValues.length > 0) {
    return column.notNull ? { kind: 'value', code: `${quote(column.enumValues[0]!)} as const` } : { kind: 'omit' }
  }
  switch (column.dataType) {
    case 'string':
      if (column.columnType === 'PgTimestampString') return { kind: 'value', code: 'new Date().toISOString()' }
      if (column.columnType === 'PgDateString') return { kind: 'value', code: 'new Date().toISOString().slice(0, 10)' }
      if (column.columnType === 'PgNumeric') {
        return column.notNull ? { kind: 'value', code: 'f.faker.finance.amount()' } : { kind: 'omit' }
      }
      if (column.columnType === 'PgTime')
        return column.notNull ? { kind: 'value', code: "'12:00:00'" } : { kind: 'omit' }
      if (column.columnType === 'PgInterval')
        return column.notNull ? { kind: 'value', code: "'1 day'" } : { kind: 'omit' }
      if (['PgText', 'PgVarchar', 'PgChar', 'PgUUID'].includes(column.columnType) || column.primary) {
        return textValue(column, table)
      }
      break
    case 'number':
      if (!column.notNull && !column.primary) return { kind: 'omit' }
      if (/PgReal|PgDoublePrecision|PgNumericNumber/.test(column.columnType)) {
        return { kind: 'value', code: 'f.faker.number.float({ min: 0, max: 1000, fractionDigits: 2 })' }
      }
      return { kind: 'value', code: numberCode(column) }
    case 'bigint':
      return column.notNull ? { kind: 'value', code: `BigInt(${numberCode(column)})` } : { kind: 'omit' }
    case 'boolean':
      return column.notNull ? { kind: 'value', code: 'false' } : { kind: 'omit' }
    case 'date':
      return column.notNull ? { kind: 'value', code: dateCode(column.name) } : { kind: 'omit' }
    case 'json':
      return column.notNull ? { kind: 'value', code: '{}' } : { kind: 'omit' }
    case 'array':
      return column.notNull ? { kind: 'value', code: '[]' } : { kind: 'omit' }
  }
  return column.notNull
    ? {
        kind: 'note',
        note: `${column.columnType} (${column.dataType}) has no generated value: pass it in the overrides`,
      }
    : { kind: 'omit' }
}
