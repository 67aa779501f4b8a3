/** aegir's settings: lint every folder that holds code, not only aegir's default src/ and test/. */
export default {
  lint: {
    files: [
      '*.{js,ts}',
      'bin/**/*.js',
      'scripts/**/*.{js,ts}',
      'protocols/**/*.ts',
      '!protocols/**/pb/*.ts',
      'node/**/*.ts',
      'relay/**/*.ts',
      'browser/src/**/*.ts',
      'harness/**/*.ts',
      'bench/**/*.ts',
      'test/**/*.ts'
    ]
  }
}
