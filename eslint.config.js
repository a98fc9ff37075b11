import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Dependency direction of DESIGN.md: the core never imports an adapter; adapters never import each other. */
const ADAPTERS = ['vitest', 'playwright', 'cli']
const adapterPatterns = (except) =>
  ADAPTERS.filter((a) => a !== except).flatMap((a) => [`**/${a}/**`, `**/${a}/index.js`, `../${a}`, `./${a}`])

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
})

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.adapter-runs/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ADAPTERS.map((a) => `src/${a}/**`),
    rules: restrict(
      [...adapterPatterns(null), '**/factories/**', '**/examples/**'],
      'The core (src/ids, run, factory, db, cleanup, audit) never imports an adapter, factories/ or examples/.',
    ),
  },
  ...ADAPTERS.map((adapter) => ({
    files: [`src/${adapter}/**/*.ts`],
    rules: restrict(
      [...adapterPatterns(adapter), '**/factories/**', '**/examples/**'],
      `src/${adapter} imports the core only, never another adapter (${ADAPTERS.filter((a) => a !== adapter).join(', ')}).`,
    ),
  })),
)
