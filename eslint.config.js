// ESLint flat config: @eslint/js recommended + typescript-eslint strict (not type-checked: too slow here).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals, declared by hand (the `globals` package is only a transitive dependency here), for the
// JavaScript files: in TypeScript files the compiler checks names (typescript-eslint turns no-undef off), the
// live page's script (src/viz/live/browser/) against the DOM's types.
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Blob',
    'Buffer',
    'clearImmediate',
    'clearInterval',
    'clearTimeout',
    'console',
    'crypto',
    'fetch',
    'FormData',
    'global',
    'globalThis',
    'Headers',
    'performance',
    'process',
    'queueMicrotask',
    'Request',
    'Response',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
    'TextDecoder',
    'TextEncoder',
    'URL',
    'URLSearchParams',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'docs/',
      'bench/results/',
      'test/fixtures/',
      'examples/**/node_modules',
      'test/.snippets-*/',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strict],
    languageOptions: { globals: nodeGlobals },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // tsconfig has `noUncheckedIndexedAccess`: `!` after a bounds check (or a lookup just made) is the honest form.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // It rejects `void` in call type arguments (typescript-eslint#3612): xstate's `fromPromise<void, Input>` idiom.
      '@typescript-eslint/no-invalid-void-type': 'off',
    },
  },
  {
    // The JavaScript config files at the root (ava, eslint) and the bench's preloads: plain ESM run by Node.
    files: ['*.js', 'bench/**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: nodeGlobals },
  },
);
