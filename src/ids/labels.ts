import { describeValue } from '../describe-value.js'
import { InputError } from '../errors.js'

const MAX_LABEL_LENGTH = 32
const SEPARATORS = /[\s_.-]+/g
const COMBINING_MARKS = /[\u0300-\u036f]/g

function fold(label: string): string {
  return label.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase()
}

const RULES = {
  id: 'id and e-mail labels are letters and digits (separators " _.-" are dropped, accents folded)',
  slug: 'slug labels need at least one letter or digit (other characters become "-")',
}

function check(kind: keyof typeof RULES, original: unknown, folded: string, pattern: RegExp): string {
  if (folded.length === 0 || !pattern.test(folded)) {
    throw new InputError(
      'LABEL_INVALID',
      `Invalid ${kind} label ${describeValue(original)}: ${RULES[kind]}. Use a short word such as "parent".`,
      { details: { label: original } },
    )
  }
  if (folded.length > MAX_LABEL_LENGTH) {
    throw new InputError(
      'LABEL_TOO_LONG',
      `Label ${describeValue(original)} is ${folded.length} characters after normalising; the limit is ${MAX_LABEL_LENGTH}. Use a shorter label.`,
      { details: { label: original } },
    )
  }
  return folded
}

/** `"Parent User"` → `"parentuser"`. Throws `LABEL_INVALID` for anything that folds to nothing or to other characters. */
export function normaliseLabel(label: string): string {
  if (typeof label !== 'string') return check('id', label, '', /^$/)
  return check('id', label, fold(label).replace(SEPARATORS, ''), /^[a-z0-9]+$/)
}

/** `"My First Post!"` → `"my-first-post"`: words of letters and digits joined by single "-". */
export function normaliseSlugLabel(label: string): string {
  if (typeof label !== 'string') return check('slug', label, '', /^$/)
  const folded = fold(label)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return check('slug', label, folded, /^[a-z0-9]+(-[a-z0-9]+)*$/)
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/

/** Lower-cases and checks an e-mail domain (`example.test` by default in the helpers). */
export function normaliseDomain(domain: string): string {
  const lower = typeof domain === 'string' ? domain.toLowerCase() : ''
  if (!DOMAIN.test(lower)) {
    throw new InputError(
      'DOMAIN_INVALID',
      `Invalid e-mail domain ${describeValue(domain)}: use a dotted host name of letters, digits and "-", e.g. "example.test" (the .test TLD never resolves, so no real mail is sent).`,
      { details: { domain } },
    )
  }
  return lower
}
