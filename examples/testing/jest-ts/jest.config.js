/** ts-jest, CommonJS (Jest's default mode). */
module.exports = { preset: 'ts-jest', testEnvironment: 'node' };
