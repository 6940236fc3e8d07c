import { availableParallelism } from 'node:os';

// ESM throughout: swc strips types and keeps `import`, jest runs the modules under --experimental-vm-modules.
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
];

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Sources import siblings as `./x.js` (NodeNext); map them back to the .ts file jest should load.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  // Integration suites spend much of their time waiting on their services (kube-apiserver, dynalite, moto),
  // so one worker per core keeps the CPU busy; jest's default (cores - 1) runs a 2-core machine in band.
  maxWorkers: Math.max(2, availableParallelism()),
  // A global option in jest (projects cannot set it): integration tests wait on real services.
  testTimeout: 120_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
      globalTeardown: '<rootDir>/test/global-teardown.js',
    },
  ],
};
