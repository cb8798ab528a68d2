// Lint: typescript-eslint's recommended rules on src/ and test/, and no `any` in the library.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**', 'bench/**/*.lua', 'docs/api/**', '.bench-builds/**'] },
  ...tseslint.configs.recommended,
  {
    // Express error handlers need all four parameters even when `next` is unused.
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // Users' CommonJS projects (the README's "Testing your API"), run by test/package as they are written.
    files: ['examples/testing/**/*.js', 'examples/testing/**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': 'allow-with-description' }],
    },
  },
);
